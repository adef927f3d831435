/**
 * The runs list behind the sidebar: filters, the pages loaded so far, the selection, and
 * the refresh logic. Kept free of React and of JupyterLab widgets so that its behaviour
 * (paging, merging a refreshed first page, selection rules) is plain code.
 *
 * Paging is keyset-based on the server (`next_token`), so the list only ever grows at its
 * end while the user scrolls; a refresh re-reads the first page and merges it in front of
 * what is loaded, which keeps the user's place in a long list.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IListRunsParams, MMClient, RunOrder } from './api/client';
import type { RunStatus, RunSummary } from './api/schema';
import { errorMessage } from './format';

export type RunScope = 'notebook' | 'all';

/** Rows fetched per request while scrolling (the server allows up to 200). */
export const PAGE_SIZE = 100;

/** Metric columns shown before the user picks any. */
const DEFAULT_METRIC_COLUMNS = 2;

/** The part of the model remembered across sessions (IStateDB). */
export interface IRunsListState {
  scope: RunScope;
  status: RunStatus | '';
  /** Only the runs of the user logged in ("my runs"), or everyone's. */
  mine?: boolean;
  /** null until the user chooses; then exactly the chosen names. */
  metricColumns: string[] | null;
  /** Column widths the user dragged, by column key (components/runList/columns.ts). */
  columnWidths: Record<string, number>;
}

export class RunsListModel {
  constructor(client: MMClient) {
    this.client = client;
  }

  readonly client: MMClient;

  /** Emits whenever anything shown in the list changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emits the number of rows inserted above the previously first row by a refresh. */
  get rowsInserted(): ISignal<this, number> {
    return this._rowsInserted;
  }

  /** Changes each time the list starts over (new filters): views go back to the top. */
  get generation(): number {
    return this._generation;
  }

  get runs(): readonly RunSummary[] {
    return this._runs;
  }
  get hasMore(): boolean {
    return this._nextToken !== null;
  }
  get loading(): boolean {
    return this._loading;
  }
  get error(): string | null {
    return this._error;
  }
  get scope(): RunScope {
    return this._scope;
  }
  /** Path (relative to the server root) of the notebook the "this notebook" scope shows. */
  get notebookPath(): string | null {
    return this._notebookPath;
  }
  get query(): string {
    return this._query;
  }
  get status(): RunStatus | '' {
    return this._status;
  }
  /** True when only the authenticated user's runs are listed (server-side filter). */
  get mine(): boolean {
    return this._mine;
  }

  get order(): RunOrder {
    return this._order;
  }

  /** The metric the list is ordered by, or null when ordered by start time. */
  get sortedMetric(): { name: string; descending: boolean } | null {
    const match = /^metric:(.*):(asc|desc)$/.exec(this._order);
    return match ? { name: match[1], descending: match[2] === 'desc' } : null;
  }
  get availableMetrics(): readonly string[] {
    return this._availableMetrics;
  }
  /** The metric columns shown: the user's choice, or the first few names known. */
  get metricColumns(): readonly string[] {
    return (
      this._metricColumns ??
      this._availableMetrics.slice(0, DEFAULT_METRIC_COLUMNS)
    );
  }
  /** Selected run ids, oldest selection first (at most two). */
  get selection(): readonly string[] {
    return this._selection;
  }
  /** True when the scope is "this notebook" but no notebook is open. */
  get waitingForNotebook(): boolean {
    return this._scope === 'notebook' && !this._notebookPath;
  }

  get state(): IRunsListState {
    return {
      scope: this._scope,
      status: this._status,
      mine: this._mine,
      metricColumns: this._metricColumns,
      columnWidths: { ...this._columnWidths }
    };
  }

  /** Widths of the columns the user resized, by column key. */
  get columnWidths(): Readonly<Record<string, number>> {
    return this._columnWidths;
  }

  /** Remember a dragged column width (rows are not fetched again). */
  setColumnWidth(key: string, width: number): void {
    if (this._columnWidths[key] !== width) {
      this._columnWidths = { ...this._columnWidths, [key]: width };
      this._changed.emit();
    }
  }

  /** Apply remembered state (does not fetch; call `reload`). */
  restoreState(state: Partial<IRunsListState> | null | undefined): void {
    if (!state) {
      return;
    }
    if (state.scope === 'notebook' || state.scope === 'all') {
      this._scope = state.scope;
    }
    if (typeof state.status === 'string') {
      this._status = state.status;
    }
    if (typeof state.mine === 'boolean') {
      this._mine = state.mine;
    }
    if (Array.isArray(state.metricColumns)) {
      this._metricColumns = state.metricColumns.filter(
        name => typeof name === 'string'
      );
    }
    const widths = state.columnWidths;
    if (widths && typeof widths === 'object' && !Array.isArray(widths)) {
      this._columnWidths = Object.fromEntries(
        Object.entries(widths).filter(
          ([, width]) => typeof width === 'number' && Number.isFinite(width)
        )
      );
    }
  }

  setScope(scope: RunScope): void {
    if (scope !== this._scope) {
      this._scope = scope;
      void this.reload();
    }
  }

  toggleScope(): void {
    this.setScope(this._scope === 'notebook' ? 'all' : 'notebook');
  }

  setNotebookPath(path: string | null): void {
    if (path !== this._notebookPath) {
      this._notebookPath = path;
      if (this._scope === 'notebook') {
        void this.reload();
      }
    }
  }

  setQuery(query: string): void {
    if (query !== this._query) {
      this._query = query;
      void this.reload();
    }
  }

  setStatus(status: RunStatus | ''): void {
    if (status !== this._status) {
      this._status = status;
      void this.reload();
    }
  }

  setMine(mine: boolean): void {
    if (mine !== this._mine) {
      this._mine = mine;
      void this.reload();
    }
  }

  setOrder(order: RunOrder): void {
    if (order !== this._order) {
      this._order = order;
      void this.reload();
    }
  }

  /**
   * A click on a metric column header: best first (descending), then ascending, then back
   * to newest first.
   */
  sortByMetric(name: string): void {
    const sorted = this.sortedMetric;
    if (sorted === null || sorted.name !== name) {
      this.setOrder(`metric:${name}:desc`);
    } else if (sorted.descending) {
      this.setOrder(`metric:${name}:asc`);
    } else {
      this.setOrder('newest');
    }
  }

  setMetricColumns(names: string[]): void {
    this._metricColumns = [...names];
    // The rows carry only the requested metrics: fetch them again with the new set.
    void this.reload();
  }

  /** Replace the selection with one run (a plain click). */
  select(id: string): void {
    this._selection = [id];
    this._changed.emit();
  }

  /** Add or remove a run from the selection (ctrl/cmd-click, checkbox, Space). */
  toggleSelected(id: string): void {
    if (this._selection.includes(id)) {
      this._selection = this._selection.filter(other => other !== id);
    } else {
      // Keep the most recent two: a third pick replaces the oldest one.
      this._selection = [...this._selection, id].slice(-2);
    }
    this._changed.emit();
  }

  /** Start over from the first page (filters changed). */
  async reload(): Promise<void> {
    const generation = ++this._generation;
    this._runs = [];
    this._nextToken = null;
    this._error = null;
    if (this.waitingForNotebook) {
      this._loading = false;
      this._changed.emit();
      return;
    }
    this._loading = true;
    this._changed.emit();
    const names = this._loadMetricNames(generation);
    try {
      // The default columns are the first metric names of the new scope: the rows must be
      // asked for with those names, or they arrive without the values the headers promise.
      if (this._metricColumns === null) {
        await names;
      }
      const page = await this.client.listRuns(this._params(null));
      if (generation !== this._generation) {
        return;
      }
      this._runs = page.runs;
      this._nextToken = page.next_token;
      this._dropHiddenSelection();
    } catch (error) {
      if (generation === this._generation) {
        this._error = errorMessage(error);
      }
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Fetch the next page, if any; concurrent calls share one request. */
  loadMore(): Promise<void> {
    if (this._nextToken === null || this._loading || this._error) {
      return this._pendingMore ?? Promise.resolve();
    }
    if (this._pendingMore) {
      return this._pendingMore;
    }
    const generation = this._generation;
    const token = this._nextToken;
    this._loading = true;
    this._changed.emit();
    this._pendingMore = (async () => {
      try {
        const page = await this.client.listRuns(this._params(token));
        if (generation !== this._generation) {
          return;
        }
        const known = new Set(this._runs.map(run => run.id));
        this._runs = [
          ...this._runs,
          ...page.runs.filter(run => !known.has(run.id))
        ];
        this._nextToken = page.next_token;
      } catch (error) {
        if (generation === this._generation) {
          this._error = errorMessage(error);
        }
      } finally {
        this._pendingMore = null;
        if (generation === this._generation) {
          this._loading = false;
          this._changed.emit();
        }
      }
    })();
    return this._pendingMore;
  }

  /**
   * Re-read the first page and merge it with what is loaded (a run finished, the user
   * pressed refresh). Calls while one is running coalesce into one more refresh after it.
   */
  refresh(): Promise<void> {
    if (this._refreshing) {
      this._refreshAgain = true;
      return this._refreshing;
    }
    this._refreshing = this._refreshOnce().finally(() => {
      this._refreshing = null;
      if (this._refreshAgain) {
        this._refreshAgain = false;
        void this.refresh();
      }
    });
    return this._refreshing;
  }

  /** True when `id` is listed with `status` (a card for a run already shown needs no refresh). */
  isListed(id: string, status?: string): boolean {
    const run = this._runs.find(candidate => candidate.id === id);
    return run !== undefined && (status === undefined || run.status === status);
  }

  private async _refreshOnce(): Promise<void> {
    if (this.waitingForNotebook) {
      return;
    }
    if (this._runs.length === 0 || this._order !== 'newest') {
      // Nothing to keep, or an order where new runs land at the end: read again.
      return this.reload();
    }
    const generation = this._generation;
    void this._loadMetricNames(generation);
    try {
      const page = await this.client.listRuns(this._params(null));
      if (generation !== this._generation) {
        return;
      }
      const fresh = page.runs;
      const freshIds = new Set(fresh.map(run => run.id));
      const last = fresh[fresh.length - 1];
      // Keep the loaded rows that sort after the fresh first page (newest first: older).
      const rest = last
        ? this._runs.filter(
            run => !freshIds.has(run.id) && sortsBefore(last, run)
          )
        : [];
      const firstOld = this._runs[0];
      const inserted = fresh.findIndex(run => run.id === firstOld.id);
      this._runs = [...fresh, ...rest];
      if (rest.length === 0) {
        this._nextToken = page.next_token;
      }
      this._error = null;
      this._changed.emit();
      this._rowsInserted.emit(inserted < 0 ? 0 : inserted);
    } catch (error) {
      if (generation === this._generation) {
        this._error = errorMessage(error);
        this._changed.emit();
      }
    }
  }

  /**
   * After the rows were replaced (a new scope or filter), forget selected runs that are no
   * longer listed: "Compare" must only ever act on runs the user can see.
   */
  private _dropHiddenSelection(): void {
    const listed = new Set(this._runs.map(run => run.id));
    this._selection = this._selection.filter(id => listed.has(id));
  }

  private async _loadMetricNames(generation: number): Promise<void> {
    try {
      const names = await this.client.metricNames(
        this._scope === 'notebook' ? this._notebookPath : null
      );
      if (
        generation === this._generation &&
        !sameList(names, this._availableMetrics)
      ) {
        this._availableMetrics = names;
        this._changed.emit();
      }
    } catch (error) {
      // The columns chooser is secondary: the runs request reports the error that matters.
      console.warn('jupyter-mm: could not read metric names', error);
    }
  }

  private _params(pageToken: string | null): IListRunsParams {
    return {
      notebook: this._scope === 'notebook' ? this._notebookPath : null,
      status: this._status,
      q: this._query,
      order: this._order,
      limit: PAGE_SIZE,
      pageToken,
      mine: this._mine,
      metrics: [...this.metricColumns]
    };
  }

  private _scope: RunScope = 'notebook';
  private _notebookPath: string | null = null;
  private _query = '';
  private _status: RunStatus | '' = '';
  private _mine = false;
  private _order: RunOrder = 'newest';
  private _metricColumns: string[] | null = null;
  private _availableMetrics: string[] = [];
  private _columnWidths: Record<string, number> = {};
  private _runs: RunSummary[] = [];
  private _nextToken: string | null = null;
  private _loading = false;
  private _error: string | null = null;
  private _selection: string[] = [];
  private _generation = 0;
  private _pendingMore: Promise<void> | null = null;
  private _refreshing: Promise<void> | null = null;
  private _refreshAgain = false;
  private _changed = new Signal<this, void>(this);
  private _rowsInserted = new Signal<this, number>(this);
}

/** Newest-first order of the server: start time, then id, both descending. */
function sortsBefore(a: RunSummary, b: RunSummary): boolean {
  if (a.start_time !== b.start_time) {
    return a.start_time > b.start_time;
  }
  return a.id > b.id;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
