/**
 * Live notebook snapshots: just before JupyterLab sends the execute request of a `%%track`
 * cell, send the kernel the notebook as it is in the editor (unsaved edits included) on the
 * `jupyter_mm` comm. The kernel's tracking code uses it as the run's checkpoint (source
 * `live`). The same comm carries the kernel's `{"type": "run"}` notices back, which the
 * sidebar uses to refresh without polling.
 *
 * Ordering: `NotebookActions.executionScheduled` fires synchronously right before
 * `CodeCell.execute`, and comm messages and execute requests travel on the same shell
 * channel, so the kernel has the snapshot queued when the magic starts.
 *
 * What is sent (full snapshots, deltas, resyncs) is decided in `snapshotMessage.ts`; this
 * module owns the comms: one per kernel connection, opened again after a restart, a kernel
 * change or a close.
 *
 * Nothing here may break notebook execution: every failure is logged and swallowed.
 */
import { Cell } from '@jupyterlab/cells';
import { PageConfig } from '@jupyterlab/coreutils';
import * as nbformat from '@jupyterlab/nbformat';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  afterRefusal,
  isTrackedSource,
  ISentSnapshot,
  nothingSent,
  readKernelReply,
  snapshotMessage
} from './snapshotMessage';
import { COMM_TARGET, IRunNotice } from './tokens';
import { markRunMessage } from './timing';

/**
 * The notebook's absolute path on the server's disk when the page knows the server root
 * (runs store absolute paths; the kernel's working directory is the notebook's folder, so
 * a root-relative path would resolve wrongly there), else the root-relative path.
 */
export function notebookFilePath(panel: NotebookPanel): string {
  const local = panel.context.localPath;
  const root = PageConfig.getOption('serverRoot');
  if (!root || !(root.startsWith('/') || /^[A-Za-z]:[\\/]/.test(root))) {
    return local;
  }
  return `${root.replace(/[\\/]+$/, '')}/${local}`;
}

/** The comm of one kernel connection, opened on first use. */
interface ICommSlot {
  comm: Kernel.IComm;
  /** Set when the kernel closed it (no `%load_ext jupyter_mm` yet) or it was disposed. */
  closed: boolean;
  /** What the kernel holds for this comm (the base of the next delta). */
  sent: ISentSnapshot;
}

/**
 * Sends snapshots for every notebook of a tracker and relays the kernel's run notices.
 * One comm per kernel connection, opened lazily when a tracked cell first runs, and opened
 * again after a restart, a kernel change or a close by the kernel.
 */
export class LiveSnapshotChannel implements IDisposable {
  constructor(tracker: INotebookTracker) {
    this._tracker = tracker;
    NotebookActions.executionScheduled.connect(this._onScheduled, this);
    tracker.widgetAdded.connect(this._onPanelAdded, this);
    tracker.forEach(panel => this._onPanelAdded(tracker, panel));
  }

  /** Emits when a kernel reports a finished tracked run. */
  get runRecorded(): ISignal<this, IRunNotice> {
    return this._runRecorded;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    NotebookActions.executionScheduled.disconnect(this._onScheduled, this);
    for (const slot of this._slots.values()) {
      this._closeQuietly(slot);
    }
    this._slots.clear();
    Signal.clearData(this);
  }

  /**
   * Send the live notebook for `cell` when it is a tracked cell of a notebook this tracker
   * knows. Returns whether a snapshot was sent (for tests and logging).
   */
  sendSnapshot(notebook: Notebook, cell: Cell): boolean {
    if (
      cell.model.type !== 'code' ||
      !isTrackedSource(cell.model.sharedModel.getSource())
    ) {
      return false;
    }
    const panel = this._tracker.find(
      candidate => candidate.content === notebook
    );
    const kernel = panel?.sessionContext.session?.kernel;
    if (!panel || !kernel || !panel.model) {
      return false;
    }
    const slot = this._commFor(kernel);
    if (!slot) {
      return false;
    }
    const snapshot = snapshotMessage(
      slot.sent,
      panel.model.toJSON() as nbformat.INotebookContent,
      cell.model.id,
      // Read at send time, so a notebook renamed after it was opened reports its new path.
      notebookFilePath(panel)
    );
    if (snapshot === null) {
      return false; // the kernel holds this very notebook for this comm
    }
    // If sending throws, `sent` stays as it was: the kernel then holds an older base and
    // answers the next delta with a resync (that cell checkpoints the saved file).
    slot.comm.send(snapshot.message as any);
    slot.sent = snapshot.next;
    return true;
  }

  private _onScheduled(
    _: unknown,
    args: { notebook: Notebook; cell: Cell }
  ): void {
    try {
      this.sendSnapshot(args.notebook, args.cell);
    } catch (error) {
      console.warn(
        'jupyter-mm: could not send the live notebook to the kernel',
        error
      );
    }
  }

  private _onPanelAdded(_: unknown, panel: NotebookPanel): void {
    const session = panel.sessionContext;
    // A new or restarted kernel forgets its comms: drop ours so the next tracked cell opens
    // a fresh one.
    const forget = (): void => this._forget(session.session?.kernel ?? null);
    session.kernelChanged.connect((_, change) => {
      if (change.oldValue) {
        this._forget(change.oldValue);
      }
    });
    session.statusChanged.connect((_, status) => {
      if (
        status === 'restarting' ||
        status === 'autorestarting' ||
        status === 'dead'
      ) {
        forget();
      }
    });
  }

  private _forget(kernel: Kernel.IKernelConnection | null): void {
    if (!kernel) {
      return;
    }
    const slot = this._slots.get(kernel);
    if (slot) {
      this._slots.delete(kernel);
      this._closeQuietly(slot);
    }
  }

  private _closeQuietly(slot: ICommSlot): void {
    if (slot.closed || slot.comm.isDisposed) {
      return;
    }
    slot.closed = true;
    try {
      slot.comm.close();
    } catch {
      // The kernel is gone; there is nothing left to close.
    }
  }

  private _commFor(kernel: Kernel.IKernelConnection): ICommSlot | null {
    const existing = this._slots.get(kernel);
    if (existing && !existing.closed && !existing.comm.isDisposed) {
      return existing;
    }
    if (kernel.isDisposed || kernel.connectionStatus === 'disconnected') {
      return null;
    }
    const comm = kernel.createComm(COMM_TARGET);
    // A new comm has no base in the kernel: its first snapshot is full.
    const slot: ICommSlot = { comm, closed: false, sent: nothingSent() };
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) =>
      this._onKernelMessage(slot, msg);
    comm.onClose = () => {
      // A kernel without `%load_ext jupyter_mm` answers the open with a close; the next
      // tracked cell (after the extension is loaded) tries again.
      slot.closed = true;
      if (this._slots.get(kernel) === slot) {
        this._slots.delete(kernel);
      }
    };
    comm.open({});
    this._slots.set(kernel, slot);
    kernel.disposed.connect(() => this._slots.delete(kernel));
    return slot;
  }

  private _onKernelMessage(
    slot: ICommSlot,
    msg: KernelMessage.ICommMsgMsg
  ): void {
    const reply = readKernelReply(msg.content.data);
    if (reply.kind === 'run') {
      markRunMessage(reply.notice.runId);
      this._runRecorded.emit(reply.notice);
    } else if (reply.kind === 'refused') {
      // The kernel holds no base for this comm now: the next snapshot must be full.
      slot.sent = afterRefusal(slot.sent);
      console.warn(
        `jupyter-mm: the kernel refused a snapshot: ${reply.message}`
      );
    }
  }

  private _tracker: INotebookTracker;
  private _slots = new Map<Kernel.IKernelConnection, ICommSlot>();
  private _runRecorded = new Signal<this, IRunNotice>(this);
  private _isDisposed = false;
}
