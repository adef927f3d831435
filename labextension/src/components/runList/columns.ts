/**
 * The columns of the runs list and how they share the sidebar's width: checkbox, status,
 * name, age, duration, one per metric, and the issues badge.
 *
 * The name is the elastic column: it takes what the others leave, never less than
 * NAME_MIN. Age, duration and metrics have a width (the user's, from dragging the header's
 * edge, else a default). When the sidebar is too narrow for all of them, metric columns
 * the user did not size first shrink to their minimum, then the duration and then the age column are left out
 * (the row's tooltip still has both); only then does the list scroll sideways. The badge
 * column always fits a two-digit count.
 */

/** Keys of the columns that can be resized (metric columns are `metric:<name>`). */
export const AGE = 'age';
export const TOOK = 'took';
export function metricKey(name: string): string {
  return `metric:${name}`;
}

/** Gap between columns and the row's horizontal padding (base.css `.jp-mm-RunRow`). */
export const COLUMN_GAP = 4;
export const ROW_PADDING = 12;

const CHECK_WIDTH = 14;
const STATUS_WIDTH = 8;
/** Fits a badge of "99" with its padding. */
export const BADGE_WIDTH = 24;
/** A name narrower than this cannot be read; the list scrolls sideways instead. */
export const NAME_MIN = 72;

/** Default, smallest and largest width of each resizable kind of column. */
const LIMITS = {
  [AGE]: { preferred: 30, min: 26 },
  [TOOK]: { preferred: 44, min: 36 },
  metric: { preferred: 56, min: 40 }
};
/** No column may be dragged wider than this. */
export const MAX_COLUMN_WIDTH = 400;

export interface IColumnLayout {
  /** `grid-template-columns` of the header and every row. */
  template: string;
  /** Width the grid needs; wider than the view only when even the minimums do not fit. */
  minWidth: number;
  showAge: boolean;
  showTook: boolean;
  /** Width of each metric column, in the order given. */
  metricWidths: number[];
}

/** The smallest width a resizable column may have (`key` as from AGE/TOOK/metricKey). */
export function minimumWidth(key: string): number {
  if (key === AGE || key === TOOK) {
    return LIMITS[key].min;
  }
  return LIMITS.metric.min;
}

/** A dragged width kept within the column's limits. */
export function clampWidth(key: string, width: number): number {
  return Math.round(
    Math.min(MAX_COLUMN_WIDTH, Math.max(minimumWidth(key), width))
  );
}

/**
 * Lay the columns out in `available` pixels (the scroller's inner width) with the user's
 * `widths` (by column key) where set.
 */
export function layoutColumns(
  available: number,
  metrics: readonly string[],
  widths: Readonly<Record<string, number>>
): IColumnLayout {
  const widthOf = (key: string, preferred: number): number =>
    widths[key] !== undefined ? clampWidth(key, widths[key]) : preferred;
  const age = widthOf(AGE, LIMITS[AGE].preferred);
  const took = widthOf(TOOK, LIMITS[TOOK].preferred);
  const wanted = metrics.map(name =>
    widthOf(metricKey(name), LIMITS.metric.preferred)
  );
  // A width the user dragged to is kept (the list scrolls sideways if it must).
  const dragged = metrics.map(name => widths[metricKey(name)] !== undefined);
  // Try every column, then without the duration, then without the age too.
  const attempts = [
    { showAge: true, showTook: true },
    { showAge: true, showTook: false },
    { showAge: false, showTook: false }
  ];
  let layout = fit(available, wanted, dragged, attempts[0], age, took);
  for (const attempt of attempts.slice(1)) {
    if (layout.minWidth <= available) {
      break;
    }
    layout = fit(available, wanted, dragged, attempt, age, took);
  }
  return layout;
}

/** The widths (besides the name) of one choice of shown columns. */
function fixedWidths(
  shown: { showAge: boolean; showTook: boolean },
  age: number,
  took: number,
  metricWidths: readonly number[]
): number[] {
  return [
    CHECK_WIDTH,
    STATUS_WIDTH,
    ...(shown.showAge ? [age] : []),
    ...(shown.showTook ? [took] : []),
    ...metricWidths,
    BADGE_WIDTH
  ];
}

/** Width of a row whose name column has its minimum width. */
function rowWidth(widths: readonly number[]): number {
  const sum = widths.reduce((total, width) => total + width, NAME_MIN);
  return sum + widths.length * COLUMN_GAP + ROW_PADDING;
}

/**
 * Lay out one choice of shown columns: metric columns not sized by the user give back
 * what they have beyond their minimum, in proportion, as far as needed to fit.
 */
function fit(
  available: number,
  wanted: readonly number[],
  dragged: readonly boolean[],
  shown: { showAge: boolean; showTook: boolean },
  age: number,
  took: number
): IColumnLayout {
  let metricWidths = [...wanted];
  const excess =
    rowWidth(fixedWidths(shown, age, took, metricWidths)) - available;
  if (excess > 0) {
    const spare = wanted.map((width, i) =>
      dragged[i] ? 0 : width - LIMITS.metric.min
    );
    const totalSpare = spare.reduce((total, width) => total + width, 0);
    const share = totalSpare > 0 ? Math.min(1, excess / totalSpare) : 0;
    metricWidths = wanted.map((width, i) =>
      Math.floor(width - spare[i] * share)
    );
  }
  const widths = fixedWidths(shown, age, took, metricWidths);
  const columns = widths.map(width => `${width}px`);
  // the name's place: after checkbox and status
  columns.splice(2, 0, `minmax(${NAME_MIN}px, 1fr)`);
  return {
    template: columns.join(' '),
    minWidth: rowWidth(widths),
    ...shown,
    metricWidths
  };
}
/**
 * The names that more than one of `runs` carries: those rows show their short id next to
 * the name, or two runs of one cell would look the same.
 */
export function sharedNames(
  runs: readonly { name?: string | null }[]
): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const { name } of runs) {
    if (name) {
      (seen.has(name) ? shared : seen).add(name);
    }
  }
  return shared;
}

/** Characters at the end of a long name that stay visible when the name is cut. */
export const NAME_TAIL = 5;

/**
 * A name split for a cut in the middle: the head ellipsizes, the tail never does. Runs of
 * one cell are often named alike up to their end ("logreg-c1", "logreg-c005"), so the end
 * is what tells them apart. Short names are not split.
 */
export function splitName(name: string): { head: string; tail: string } {
  const chars = Array.from(name); // code points: an emoji is never cut in half
  if (chars.length <= NAME_TAIL * 2) {
    return { head: name, tail: '' };
  }
  return {
    head: chars.slice(0, -NAME_TAIL).join(''),
    tail: chars.slice(-NAME_TAIL).join('')
  };
}
