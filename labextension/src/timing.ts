/**
 * Latency marks read by the browser tests (`window.__jupyterMM`): when the kernel's run
 * notice arrived and when the run's row first appeared in the sidebar. Their difference is
 * the "tracked cell finished → row visible" time the project measures.
 */

interface IMMTimingMarks {
  /** `performance.now()` when the kernel's `{"type": "run"}` message arrived, per run id. */
  lastRunMessageAt: Record<string, number>;
  /** `performance.now()` when the run's row was first rendered in the sidebar, per run id. */
  lastRowShownAt: Record<string, number>;
}

function marks(): IMMTimingMarks {
  const holder = window as unknown as { __jupyterMM?: Partial<IMMTimingMarks> };
  const current = holder.__jupyterMM ?? {};
  current.lastRunMessageAt ??= {};
  current.lastRowShownAt ??= {};
  holder.__jupyterMM = current;
  return current as IMMTimingMarks;
}

export function markRunMessage(runId: string): void {
  marks().lastRunMessageAt[runId] = performance.now();
}

/** Record the first time a row shows; later renders of the same row do not move the mark. */
export function markRowShown(runId: string): void {
  const rows = marks().lastRowShownAt;
  if (rows[runId] === undefined) {
    rows[runId] = performance.now();
  }
}
