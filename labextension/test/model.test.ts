/**
 * The runs list model (src/model.ts) against a real Jupyter server with the jupyter_mm
 * server extension, its runs recorded through the public Python API: paging, merging a
 * refreshed first page, filters, metric ordering, selection and server errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MMClient } from '../src/api/client';
import type { RunPage, RunStatus, RunSummary } from '../src/api/schema';
import { PAGE_SIZE, RunsListModel } from '../src/model';
import { ITestServer, startServer } from './jupyterServer';
import { JsonLineProcess } from './python';

interface IRunSpec {
  name?: string;
  notebook: string;
  metrics?: Record<string, number>;
  fail?: boolean;
}

/**
 * The real client, keeping hold of its requests (runs and the metric names the runs are
 * asked for with) so a test can wait for all of them.
 */
class ObservedClient extends MMClient {
  listRuns(...args: Parameters<MMClient['listRuns']>): Promise<RunPage> {
    const request = super.listRuns(...args);
    this._requests.push(request);
    return request;
  }

  metricNames(...args: Parameters<MMClient['metricNames']>): Promise<string[]> {
    const request = super.metricNames(...args);
    this._requests.push(request);
    return request;
  }

  /** Resolves once every request sent so far has been answered and handled. */
  async settled(): Promise<void> {
    while (this._requests.length > 0) {
      await Promise.allSettled(this._requests.splice(0));
      // let the model's own continuation of each answer run first
      await new Promise(resolve => setTimeout(resolve, 0));
    }
  }

  private _requests: Promise<unknown>[] = [];
}

let server: ITestServer;
let recorder: JsonLineProcess;
let client: MMClient;

beforeAll(async () => {
  server = await startServer();
  recorder = new JsonLineProcess(`${__dirname}/runs_store.py`, server.env);
  client = new MMClient(server.settings);
});

afterAll(async () => {
  recorder?.close();
  await server?.stop();
});

/** Record runs in this order (each starts after the previous); their ids. */
async function record(runs: IRunSpec[]): Promise<string[]> {
  const answer = await recorder.ask<{ ids: string[] }>({ runs });
  return answer.ids;
}

/** `count` runs of the notebook `relpath` (under the server root), oldest first. */
function runsOf(
  relpath: string,
  count: number,
  spec: (i: number) => Partial<IRunSpec> = () => ({})
): IRunSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${relpath} #${i}`,
    notebook: `${server.root}/${relpath}`,
    ...spec(i)
  }));
}

/** Wait until `done()` holds, re-checked whenever the model says something changed. */
function until(model: RunsListModel, done: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (done()) {
        model.changed.disconnect(check);
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => {
      model.changed.disconnect(check);
      reject(new Error('the runs list never reached the expected state'));
    }, 30_000);
    model.changed.connect(check);
    check();
  });
}

const ids = (runs: readonly RunSummary[]): string[] => runs.map(run => run.id);

describe('RunsListModel', () => {
  it('waits for a notebook, then pages through its runs newest first', async () => {
    const recorded = await record(runsOf('paging.ipynb', 2 * PAGE_SIZE + 30));
    await record(runsOf('elsewhere.ipynb', 3));
    const model = new RunsListModel(client);

    await model.reload();
    expect(model.waitingForNotebook).toBe(true);
    expect(model.runs).toEqual([]);

    model.setNotebookPath('paging.ipynb');
    await until(model, () => !model.loading && model.runs.length > 0);
    const newestFirst = [...recorded].reverse();
    expect(ids(model.runs)).toEqual(newestFirst.slice(0, PAGE_SIZE));
    expect(model.hasMore).toBe(true);

    // two scroll events at once ask for the next page once
    const first = model.loadMore();
    const second = model.loadMore();
    await Promise.all([first, second]);
    expect(ids(model.runs)).toEqual(newestFirst.slice(0, 2 * PAGE_SIZE));

    await model.loadMore();
    expect(ids(model.runs)).toEqual(newestFirst);
    expect(model.hasMore).toBe(false);
    await model.loadMore(); // nothing more to ask for
    expect(model.runs).toHaveLength(2 * PAGE_SIZE + 30);
  });

  it('merges new runs in front of the loaded pages on refresh', async () => {
    const older = await record(runsOf('refresh.ipynb', PAGE_SIZE + 20));
    const model = new RunsListModel(client);
    model.setNotebookPath('refresh.ipynb');
    await until(model, () => !model.loading && model.runs.length > 0);
    await model.loadMore();
    expect(model.runs).toHaveLength(PAGE_SIZE + 20);

    const inserted: number[] = [];
    model.rowsInserted.connect((_, count) => inserted.push(count));
    const newer = await record(runsOf('refresh.ipynb', 3));
    await model.refresh();

    expect(ids(model.runs)).toEqual([...older, ...newer].reverse());
    expect(inserted).toEqual([3]);
    expect(model.isListed(newer[2], 'finished')).toBe(true);
    expect(model.isListed(newer[2], 'running')).toBe(false);
    expect(model.isListed('no-such-run')).toBe(false);
  });

  it('lists every notebook in the "all" scope and filters by status and text', async () => {
    const specs = runsOf('filters.ipynb', 6, i => ({
      name: i % 2 ? `sweep-${i}` : `base-${i}`,
      fail: i % 3 === 0
    }));
    const recorded = await record(specs);
    const failed = recorded.filter((_, i) => i % 3 === 0);
    const model = new RunsListModel(client);
    model.setNotebookPath('filters.ipynb');
    await until(model, () => !model.loading && model.runs.length === 6);

    model.setStatus('failed');
    await until(model, () => !model.loading && model.runs.length === 2);
    expect(ids(model.runs)).toEqual([...failed].reverse());

    model.setStatus('');
    model.setQuery('sweep');
    await until(model, () => !model.loading && model.runs.length === 3);
    expect(model.runs.map(run => run.name)).toEqual([
      'sweep-5',
      'sweep-3',
      'sweep-1'
    ]);

    model.setQuery('');
    model.toggleScope();
    expect(model.scope).toBe('all');
    await until(model, () => !model.loading && model.runs.length > 6);
    const notebooks = new Set(model.runs.map(run => run.notebook_relpath));
    expect(notebooks.has('filters.ipynb')).toBe(true);
    expect(notebooks.size).toBeGreaterThan(1);
  });

  it('drops an answer that arrives after the filters changed', async () => {
    await record(runsOf('race.ipynb', 4, i => ({ name: `race-${i}` })));
    const observed = new ObservedClient(server.settings);
    const model = new RunsListModel(observed);
    model.setNotebookPath('race.ipynb');
    // the notebook is closed before its runs arrive: the list must stay empty
    model.setNotebookPath(null);
    expect(model.waitingForNotebook).toBe(true);
    await observed.settled();
    expect(model.runs).toEqual([]);
    expect(model.loading).toBe(false);

    model.setNotebookPath('race.ipynb');
    model.setQuery('race-1');
    model.setQuery('');
    await observed.settled();
    expect(model.runs.map(run => run.name)).toEqual([
      'race-3',
      'race-2',
      'race-1',
      'race-0'
    ]);
  });

  it('orders by a metric: best first, then lowest first, then newest first', async () => {
    const values = [0.7, 0.9, 0.8];
    const recorded = await record([
      ...runsOf('metrics.ipynb', 3, i => ({
        metrics: { acc: values[i], loss: 1 - values[i] }
      })),
      ...runsOf('metrics.ipynb', 1, () => ({ name: 'no acc', metrics: {} }))
    ]);
    const model = new RunsListModel(client);
    model.setNotebookPath('metrics.ipynb');
    await until(
      model,
      () => !model.loading && model.availableMetrics.length === 2
    );
    expect(model.availableMetrics).toEqual(['acc', 'loss']);
    expect(model.metricColumns).toEqual(['acc', 'loss']);
    expect(model.runs[1].metrics).toEqual({ acc: 0.8, loss: 1 - 0.8 });

    model.sortByMetric('acc');
    expect(model.sortedMetric).toEqual({ name: 'acc', descending: true });
    await until(model, () => !model.loading && model.runs.length === 3);
    expect(ids(model.runs)).toEqual([recorded[1], recorded[2], recorded[0]]);

    model.sortByMetric('acc');
    await until(
      model,
      () => !model.loading && model.runs[0]?.id === recorded[0]
    );
    expect(ids(model.runs)).toEqual([recorded[0], recorded[2], recorded[1]]);

    model.sortByMetric('acc');
    expect(model.order).toBe('newest');
    await until(model, () => !model.loading && model.runs.length === 4);
    expect(ids(model.runs)).toEqual([...recorded].reverse());

    model.setMetricColumns(['loss']);
    await until(model, () => !model.loading && model.runs.length === 4);
    expect(Object.keys(model.runs[1].metrics)).toEqual(['loss']);
    expect(model.state.metricColumns).toEqual(['loss']);
  });

  it('changes scope at once: new metric columns filled, hidden selection dropped', async () => {
    await record(
      runsOf('scope-other.ipynb', 2, () => ({ metrics: { zeta: 1 } }))
    );
    const mine = await record(
      runsOf('scope-mine.ipynb', 3, i => ({
        metrics: { alpha: i, beta: 2 * i }
      }))
    );
    const model = new RunsListModel(client);
    model.restoreState({ scope: 'all' });
    model.setNotebookPath('scope-mine.ipynb');
    void model.reload();
    await until(model, () => !model.loading && model.runs.length > 0);
    // two runs of another notebook selected in "all notebooks"
    const [other] = model.runs.filter(run => !mine.includes(run.id));
    model.select(other.id);
    model.toggleSelected(mine[0]);

    model.toggleScope();
    await until(model, () => !model.loading && model.runs.length > 0);
    expect(ids(model.runs)).toEqual([...mine].reverse());
    expect(model.metricColumns).toEqual(['alpha', 'beta']);
    // every row carries the values of the columns shown, without a refresh
    for (const run of model.runs) {
      expect(Object.keys(run.metrics).sort()).toEqual(['alpha', 'beta']);
    }
    // the run of the other notebook is no longer listed, so no longer selected
    expect(model.selection).toEqual([mine[0]]);
  });

  it("shows the server's sentence when a request is refused", async () => {
    const model = new RunsListModel(client);
    model.restoreState({ scope: 'all' });
    model.setStatus('paused' as RunStatus);
    await until(model, () => !model.loading && model.error !== null);
    expect(model.error).toMatch(/^Unknown run status 'paused'; use one of /);
    expect(model.runs).toEqual([]);
    // a good request clears it
    model.setStatus('');
    await until(model, () => !model.loading && model.runs.length > 0);
    expect(model.error).toBeNull();
  });
});

describe('RunsListModel state', () => {
  it('selects one run, or toggles up to the two latest picks', () => {
    const model = new RunsListModel(client);
    model.select('a');
    expect(model.selection).toEqual(['a']);
    model.toggleSelected('b');
    model.toggleSelected('c');
    expect(model.selection).toEqual(['b', 'c']);
    model.toggleSelected('b');
    expect(model.selection).toEqual(['c']);
    model.select('d');
    expect(model.selection).toEqual(['d']);
  });

  it('restores only well-formed remembered state', () => {
    const model = new RunsListModel(client);
    model.restoreState({
      scope: 'everything' as 'all',
      status: 'failed',
      mine: 'yes' as unknown as boolean,
      metricColumns: ['acc', 3 as unknown as string, 'loss'],
      columnWidths: { 'metric:acc': 90, age: 'wide' as unknown as number }
    });
    expect(model.state).toEqual({
      scope: 'notebook',
      status: 'failed',
      mine: false,
      metricColumns: ['acc', 'loss'],
      columnWidths: { 'metric:acc': 90 }
    });
    model.restoreState({ mine: true });
    expect(model.state.mine).toBe(true);
    model.restoreState(undefined);
    model.restoreState({ scope: 'all' });
    expect(model.state.scope).toBe('all');
  });
});
