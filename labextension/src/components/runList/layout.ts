/**
 * Geometry of the runs list: fixed-height rows laid out on a CSS grid whose columns are
 * checkbox, status, name, age, duration, one per metric, and the issues badge.
 */

/** Row height in pixels; must match `.jp-mm-RunRow` in base.css. */
export const ROW_HEIGHT = 28;
/** Rows rendered beyond the visible ones, so that fast scrolling shows no blank band. */
const OVERSCAN = 8;

export function gridColumns(metricCount: number): string {
  return ['14px', '8px', 'minmax(48px, 1fr)', '28px', '42px']
    .concat(Array(metricCount).fill('48px'))
    .concat(['18px'])
    .join(' ');
}

/**
 * Narrowest width the columns fit in (their minimum widths, 4px gaps, 12px padding). A
 * narrow sidebar scrolls sideways instead of clipping the metric columns.
 */
export function minimumRowWidth(metricCount: number): number {
  const fixed = 14 + 8 + 48 + 28 + 42 + 18;
  return fixed + metricCount * 48 + (6 + metricCount - 1) * 4 + 12;
}

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
