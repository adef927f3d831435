import type * as nbformat from '@jupyterlab/nbformat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  afterRefusal,
  isTrackedSource,
  ISentSnapshot,
  ISnapshotMessage,
  nothingSent,
  readKernelReply,
  snapshotMessage
} from '../src/snapshotMessage';
import {
  asStarting,
  TRACKED_CELL,
  trainingNotebook,
  withCell
} from './fixtures/notebook';
import { JsonLineProcess } from './python';

const PATH = '/home/ana/churn/train.ipynb';

/** Build the next message after `sent` and check it is one (not "nothing to send"). */
function next(
  sent: ISentSnapshot,
  notebook: nbformat.INotebookContent,
  cellId = TRACKED_CELL,
  path = PATH
): ISnapshotMessage {
  const snapshot = snapshotMessage(sent, notebook, cellId, path);
  expect(snapshot).not.toBeNull();
  return snapshot!;
}

describe('snapshotMessage', () => {
  it('sends the whole notebook first, the tracked cell as it starts', () => {
    const notebook = trainingNotebook();
    const { message, next: sent } = next(nothingSent(), notebook);
    expect(message).toEqual({
      type: 'snapshot',
      cell_id: TRACKED_CELL,
      path: PATH,
      seq: 1,
      base: null,
      notebook: asStarting(notebook, TRACKED_CELL)
    });
    // the other cells keep their outputs; the tracked one lost them
    expect(message.notebook.cells[1].outputs).toHaveLength(1);
    expect(message.notebook.cells[2].outputs).toEqual([]);
    expect(message.notebook.cells[2].execution_count).toBeNull();
    expect(sent.seq).toBe(1);
    expect(sent.cells?.size).toBe(5);
    // the editor's notebook is left as it was
    expect(notebook.cells[2].outputs).toHaveLength(2);
  });

  it('sends only the changed cells after that, the others by id', () => {
    const first = next(nothingSent(), trainingNotebook());
    const edited = withCell(trainingNotebook(), '8d41f0aa-load', {
      source: "df = pd.read_csv('train-v2.csv')"
    });
    const { message, next: sent } = next(first.next, edited);
    expect(message.seq).toBe(2);
    expect(message.base).toBe(1);
    expect(message.notebook.cells).toEqual([
      '5b2e9c10-intro',
      edited.cells[1],
      TRACKED_CELL,
      'e07c3b55-plot',
      '9a6f7e21-notes'
    ]);
    expect(message.notebook.metadata).toEqual(edited.metadata);
    expect(sent.seq).toBe(2);
  });

  it('sends nothing when the kernel already holds this notebook', () => {
    const first = next(nothingSent(), trainingNotebook());
    // the tracked cell ran since (new outputs, new count): as it starts again it is the same
    const ran = withCell(trainingNotebook(), TRACKED_CELL, {
      execution_count: 7,
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'acc 0.83\n' }]
    });
    expect(snapshotMessage(first.next, ran, TRACKED_CELL, PATH)).toBeNull();
  });

  it('sends a delta when only the metadata or the path changed', () => {
    const first = next(nothingSent(), trainingNotebook());
    const notebook = trainingNotebook();
    notebook.metadata.kernelspec!.display_name = 'Python 3.12';
    const metadataOnly = next(first.next, notebook);
    expect(metadataOnly.message.base).toBe(1);
    expect(
      metadataOnly.message.notebook.cells.every(c => typeof c === 'string')
    ).toBe(true);
    const renamed = next(
      first.next,
      trainingNotebook(),
      TRACKED_CELL,
      '/x.ipynb'
    );
    expect(renamed.message.base).toBe(1);
    expect(renamed.message.path).toBe('/x.ipynb');
  });

  it('keeps the new order when cells were moved, added or deleted', () => {
    const first = next(nothingSent(), trainingNotebook());
    const notebook = trainingNotebook();
    const [intro, load, train, plot] = notebook.cells;
    const added: nbformat.ICell = {
      cell_type: 'code',
      id: 'f00d-new',
      metadata: {},
      execution_count: null,
      source: 'df.describe()',
      outputs: []
    };
    notebook.cells = [load, intro, added, train, plot];
    const { message } = next(first.next, notebook);
    expect(message.notebook.cells).toEqual([
      '8d41f0aa-load',
      '5b2e9c10-intro',
      added,
      TRACKED_CELL,
      'e07c3b55-plot'
    ]);
  });

  it.each([
    ['missing', undefined],
    ['repeated', '8d41f0aa-load']
  ])('sends everything, and keeps no base, when an id is %s', (_, id) => {
    const first = next(nothingSent(), trainingNotebook());
    const notebook = withCell(trainingNotebook(), 'e07c3b55-plot', { id });
    const second = next(first.next, notebook);
    expect(second.message.base).toBeNull();
    expect(second.message.seq).toBe(2);
    expect(second.message.notebook.cells).toEqual(
      asStarting(notebook, TRACKED_CELL).cells
    );
    expect(second.next.cells).toBeNull();
    // nothing is held to compare with: the same notebook again is sent in full again
    const third = next(second.next, notebook);
    expect(third.message.base).toBeNull();
    expect(third.message.seq).toBe(3);
  });

  it('starts over with a full snapshot after the kernel refused one', () => {
    const first = next(nothingSent(), trainingNotebook());
    const refused = afterRefusal(first.next);
    expect(refused).toEqual({ seq: 1, cells: null });
    const again = next(refused, trainingNotebook());
    expect(again.message.seq).toBe(2);
    expect(again.message.base).toBeNull();
    expect(again.message.notebook.cells.every(c => typeof c === 'object')).toBe(
      true
    );
  });
});

describe('readKernelReply', () => {
  it('reads run notices, with the status defaulting to finished', () => {
    expect(
      readKernelReply({ type: 'run', run_id: 'r1', status: 'failed' })
    ).toEqual({ kind: 'run', notice: { runId: 'r1', status: 'failed' } });
    expect(readKernelReply({ type: 'run', run_id: 'r2' })).toEqual({
      kind: 'run',
      notice: { runId: 'r2', status: 'finished' }
    });
  });

  it('reads resync and error answers as refusals', () => {
    expect(readKernelReply({ type: 'resync', message: 'stale' })).toEqual({
      kind: 'refused',
      message: 'stale'
    });
    expect(readKernelReply({ type: 'error', message: 'bad' }).kind).toBe(
      'refused'
    );
  });

  it.each([null, 'run', 42, {}, { type: 'run' }, { type: 'run', run_id: 7 }])(
    'ignores %j',
    data => {
      expect(readKernelReply(data)).toEqual({ kind: 'other' });
    }
  );
});

describe('isTrackedSource', () => {
  it.each([
    ['%%track', true],
    ['%%track --name a\nx = 1', true],
    ['\n\n  %%track\nx = 1', true],
    ['%%tracking\nx = 1', false],
    ['# %%track', false],
    ['%%time\n%%track', false],
    ['x = 1\n%%track', false]
  ])('%j → %s', (source, tracked) => {
    expect(isTrackedSource(source)).toBe(tracked);
  });
});

/**
 * The same messages applied by the kernel's own code (`LiveSnapshots` in
 * jupyter_mm/capture/notebook.py, through test/kernel_snapshots.py): every tracked cell
 * must checkpoint exactly the notebook in the editor, whether it came in full, as a delta
 * or not at all.
 */
describe('the kernel rebuilds what the channel sends', () => {
  let kernel: JsonLineProcess;
  let sent: ISentSnapshot;

  beforeAll(() => {
    kernel = new JsonLineProcess(`${__dirname}/kernel_snapshots.py`);
    sent = nothingSent();
  });
  afterAll(() => kernel.close());

  /** Send what the channel would for `notebook`; return what the kernel checkpoints. */
  async function run(
    notebook: nbformat.INotebookContent,
    cellId = TRACKED_CELL
  ): Promise<{
    notebook?: unknown;
    reply?: unknown;
    sent: ISnapshotMessage | null;
  }> {
    const snapshot = snapshotMessage(sent, notebook, cellId, PATH);
    const answer = await kernel.ask<{ notebook?: unknown; reply?: unknown }>({
      message: snapshot?.message ?? null,
      cell_id: cellId
    });
    if (snapshot) {
      sent = snapshot.next;
    }
    const reply = readKernelReply(answer.reply);
    if (reply.kind === 'refused') {
      sent = afterRefusal(sent);
    }
    return { ...answer, sent: snapshot };
  }

  it('checkpoints the editor notebook through full, delta and unchanged sends', async () => {
    let notebook = trainingNotebook();
    const full = await run(notebook);
    expect(full.sent?.message.base).toBeNull();
    expect(full.notebook).toEqual(asStarting(notebook, TRACKED_CELL));

    notebook = withCell(notebook, '8d41f0aa-load', { source: 'df = load()' });
    const delta = await run(notebook);
    expect(delta.sent?.message.base).toBe(1);
    expect(delta.notebook).toEqual(asStarting(notebook, TRACKED_CELL));

    const unchanged = await run(notebook);
    expect(unchanged.sent).toBeNull();
    expect(unchanged.notebook).toEqual(asStarting(notebook, TRACKED_CELL));

    notebook = { ...notebook, cells: [...notebook.cells].reverse() };
    const moved = await run(notebook, 'e07c3b55-plot');
    expect(moved.sent?.message.base).toBe(2);
    expect(moved.notebook).toEqual(asStarting(notebook, 'e07c3b55-plot'));
  });

  it('resyncs with a full snapshot when the kernel lost its base', async () => {
    await kernel.ask({ restart: true });
    const notebook = withCell(trainingNotebook(), TRACKED_CELL, {
      source: '%%track\nlr = 0.05\nacc = fit(df, lr)'
    });
    const refused = await run(notebook);
    expect(refused.sent?.message.base).not.toBeNull();
    expect(refused.reply).toMatchObject({ type: 'resync' });
    expect(sent.cells).toBeNull();

    const resent = await run(notebook);
    expect(resent.sent?.message.base).toBeNull();
    expect(resent.notebook).toEqual(asStarting(notebook, TRACKED_CELL));

    const edited = withCell(notebook, '9a6f7e21-notes', { source: 'notes' });
    const delta = await run(edited);
    expect(delta.sent?.message.base).toBe(resent.sent?.message.seq);
    expect(delta.notebook).toEqual(asStarting(edited, TRACKED_CELL));
  });
});
