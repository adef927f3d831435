/**
 * The messages of the live-snapshot protocol (`jupyter_mm/comm.py`), as plain functions of
 * what was last sent: which snapshot to send for a tracked cell, and what a kernel's answer
 * means. The channel in `liveSnapshot.ts` holds one `ISentSnapshot` per comm and sends what
 * these functions build.
 *
 * Deltas: on one comm, each snapshot carries a `seq`; after the first (full) one, a snapshot
 * carries `base` = the previous `seq` and sends the cells that did not change since then as
 * their id alone (`"cells": ["id-a", {...changed cell...}, "id-c"]`). "Did not change" is
 * checked on the cell's JSON text as last sent, so a delta rebuilds exactly the notebook a
 * full snapshot would carry. The kernel keeps the previous snapshot per comm; when it cannot
 * rebuild one it answers `{"type": "resync"}` (or `{"type": "error"}`), and the next snapshot
 * is full again. A new comm starts with a full one, as does a notebook whose cell ids are
 * missing or repeated. The tracked cell is sent as it starts running (no outputs, no
 * execution count), and when nothing at all changed since the last snapshot nothing is
 * sent: the kernel uses what it holds for this comm.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import type { IRunNotice } from './tokens';

/** True when the cell's code is a `%%track` cell (IPython skips leading blank lines). */
export function isTrackedSource(source: string): boolean {
  const match = /^\s*%%track(?=\s|$)/.exec(source);
  return match !== null;
}

/** What the kernel was last sent on one comm, which the next snapshot is a delta on. */
export interface ISentSnapshot {
  /** The `seq` of the last snapshot sent (0: none yet). */
  seq: number;
  /** Cell id → the cell's JSON text as last sent; null: the next snapshot must be full. */
  cells: Map<string, string> | null;
  /** The notebook without its cells (JSON text) and the path, as last sent. */
  top?: string;
  path?: string;
}

/** A snapshot message for the comm, and what to remember once it is sent. */
export interface ISnapshotMessage {
  message: {
    type: 'snapshot';
    cell_id: string;
    path: string;
    seq: number;
    base: number | null;
    notebook: nbformat.INotebookContent;
  };
  next: ISentSnapshot;
}

/**
 * The tracked cell as it starts running: without the outputs and execution count of its
 * previous run, which JupyterLab clears as the execution starts and the kernel's checkpoint
 * leaves out. Comparing it this way, re-running an unchanged notebook changes nothing.
 */
function asCellStarts(cell: nbformat.ICell): nbformat.ICell {
  return cell.cell_type === 'code'
    ? { ...cell, outputs: [], execution_count: null }
    : cell;
}

/**
 * The snapshot of `notebook` to send after `sent`: a delta on it when the kernel holds it
 * (its cells are known) and every cell has an id of its own, else a full snapshot. Null
 * when the kernel already holds exactly this notebook (same cells in the same order, same
 * metadata and path): then nothing is sent, and the kernel checkpoints what it holds for
 * this comm (see "Unchanged notebooks" in `jupyter_mm/capture/notebook.py`).
 */
export function snapshotMessage(
  sent: ISentSnapshot,
  content: nbformat.INotebookContent,
  cellId: string,
  path: string
): ISnapshotMessage | null {
  const seq = sent.seq + 1;
  const notebook: nbformat.INotebookContent = {
    ...content,
    cells: content.cells.map(cell =>
      cell.id === cellId ? asCellStarts(cell) : cell
    )
  };
  const message = (
    base: number | null,
    cells: (nbformat.ICell | string)[]
  ): ISnapshotMessage['message'] => ({
    type: 'snapshot',
    cell_id: cellId,
    path,
    seq,
    base,
    notebook: { ...notebook, cells: cells as nbformat.ICell[] }
  });
  const top = JSON.stringify({ ...notebook, cells: [] });
  const texts = new Map<string, string>();
  for (const cell of notebook.cells) {
    const id = cell.id;
    if (typeof id !== 'string' || texts.has(id)) {
      // A delta could not say which cell it means: send everything, keep nothing.
      return {
        message: message(null, notebook.cells),
        next: { seq, cells: null }
      };
    }
    texts.set(id, JSON.stringify(cell));
  }
  const previous = sent.cells;
  if (
    previous !== null &&
    previous.size === texts.size &&
    sent.top === top &&
    sent.path === path &&
    texts.has(cellId) &&
    sameCells(previous, texts)
  ) {
    return null;
  }
  let base: number | null = null;
  let cells: (nbformat.ICell | string)[] = notebook.cells;
  if (previous !== null) {
    base = sent.seq;
    cells = notebook.cells.map(cell =>
      previous.get(cell.id as string) === texts.get(cell.id as string)
        ? (cell.id as string)
        : cell
    );
  }
  return {
    message: message(base, cells),
    next: { seq, cells: texts, top, path }
  };
}

/** Same ids in the same order, each with the same JSON text. */
function sameCells(
  previous: Map<string, string>,
  texts: Map<string, string>
): boolean {
  const before = previous.entries();
  for (const [id, text] of texts) {
    const [oldId, oldText] = before.next().value as [string, string];
    if (oldId !== id || oldText !== text) {
      return false;
    }
  }
  return true;
}

/** A new comm: the kernel holds nothing for it, so its first snapshot is full. */
export function nothingSent(): ISentSnapshot {
  return { seq: 0, cells: null };
}

/**
 * What the kernel holds after it refused a snapshot (`resync` or `error`): no base. The
 * numbering goes on, so the kernel's log tells the snapshots of one comm apart.
 */
export function afterRefusal(sent: ISentSnapshot): ISentSnapshot {
  return { seq: sent.seq, cells: null };
}

/** A kernel → frontend message of the `jupyter_mm` comm, read defensively. */
export type KernelReply =
  | { kind: 'run'; notice: IRunNotice }
  | { kind: 'refused'; message: string }
  | { kind: 'other' };

export function readKernelReply(data: unknown): KernelReply {
  const message = (data ?? {}) as {
    type?: unknown;
    run_id?: unknown;
    status?: unknown;
    message?: unknown;
  };
  if (message.type === 'run' && typeof message.run_id === 'string') {
    return {
      kind: 'run',
      notice: {
        runId: message.run_id,
        status: typeof message.status === 'string' ? message.status : 'finished'
      }
    };
  }
  if (message.type === 'resync' || message.type === 'error') {
    return { kind: 'refused', message: String(message.message) };
  }
  return { kind: 'other' };
}
