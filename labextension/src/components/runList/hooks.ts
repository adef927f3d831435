/** Small effects of the runs list: a clock for ages, latency marks, and paging ahead. */
import * as React from 'react';

import type { RunSummary } from '../../api/schema';
import { RunsListModel } from '../../model';
import { markRowShown } from '../../timing';

/** Ask for the next page when fewer than this many loaded rows remain below the view. */
const PREFETCH_ROWS = 40;

/** `Date.now()`, renewed every `intervalMs` so relative times ("5m") age while shown. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Record when rows first appear (browser tests measure cell-finish → row latency). */
export function useMarkRowsShown(rendered: readonly RunSummary[]): void {
  React.useEffect(() => {
    for (const run of rendered) {
      markRowShown(run.id);
    }
  });
}

/** Page in more rows before the user reaches the end of what is loaded. */
export function usePrefetch(
  model: RunsListModel,
  lastRendered: number,
  loaded: number
): void {
  React.useEffect(() => {
    if (model.hasMore && lastRendered + PREFETCH_ROWS >= loaded) {
      void model.loadMore();
    }
  }, [lastRendered, loaded, model.hasMore]);
}
