/**
 * Geometry of the runs list: fixed-height rows, only those in view rendered. The columns
 * are columns.ts.
 */

/** Row height in pixels; must match `.jp-mm-RunRow` in base.css. */
export const ROW_HEIGHT = 28;
/** Rows rendered beyond the visible ones, so that fast scrolling shows no blank band. */
const OVERSCAN = 8;

/** The rows to render for a scroll position: `[first, last)` with overscan both ways. */
export function renderedRange(
  scrollTop: number,
  viewHeight: number,
  rowCount: number
): { first: number; last: number } {
  return {
    first: Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN),
    last: Math.min(
      rowCount,
      Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN
    )
  };
}

/** Rows that one PageUp/PageDown moves by: a view's worth, less one for context. */
export function rowsPerPage(viewHeight: number): number {
  return Math.max(1, Math.floor(viewHeight / ROW_HEIGHT) - 1);
}
