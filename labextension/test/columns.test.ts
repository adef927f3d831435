import { describe, expect, it } from 'vitest';

import {
  AGE,
  BADGE_WIDTH,
  clampWidth,
  COLUMN_GAP,
  layoutColumns,
  MAX_COLUMN_WIDTH,
  metricKey,
  minimumWidth,
  NAME_MIN,
  splitName,
  ROW_PADDING,
  sharedNames,
  TOOK
} from '../src/components/runList/columns';

/** Pixel widths of a template: the name column (minmax) counts as its minimum. */
function widths(template: string): number[] {
  return template
    .split(/ (?![^(]*\))/)
    .map(column =>
      column.startsWith('minmax(')
        ? parseInt(column.slice(7), 10)
        : parseInt(column, 10)
    );
}

function rowWidth(template: string): number {
  const columns = widths(template);
  return (
    columns.reduce((a, b) => a + b, 0) +
    (columns.length - 1) * COLUMN_GAP +
    ROW_PADDING
  );
}

describe('layoutColumns', () => {
  it('shows every column with room to spare in a wide sidebar', () => {
    const layout = layoutColumns(600, ['accuracy', 'loss'], {});
    expect(layout.showAge && layout.showTook).toBe(true);
    expect(layout.metricWidths).toEqual([56, 56]);
    expect(layout.template).toContain(`minmax(${NAME_MIN}px, 1fr)`);
    expect(layout.minWidth).toBe(rowWidth(layout.template));
    expect(layout.minWidth).toBeLessThan(600);
  });

  it('fits the default sidebar width without scrolling sideways', () => {
    // JupyterLab's left panel is about 245 px; its scrollbar leaves about 235.
    for (const available of [235, 245]) {
      const layout = layoutColumns(available, ['accuracy', 'loss'], {});
      expect(layout.minWidth).toBeLessThanOrEqual(available);
      // the name keeps at least its minimum, the badge its full width
      expect(widths(layout.template)[2]).toBe(NAME_MIN);
      expect(widths(layout.template).at(-1)).toBe(BADGE_WIDTH);
    }
  });

  it('shrinks metrics, then leaves out the duration, then the age', () => {
    const wide = layoutColumns(400, ['a', 'b'], {});
    expect(wide).toMatchObject({ showAge: true, showTook: true });
    expect(wide.metricWidths).toEqual([56, 56]);

    const tighter = layoutColumns(wide.minWidth - 10, ['a', 'b'], {});
    expect(tighter).toMatchObject({ showAge: true, showTook: true });
    expect(tighter.metricWidths).toEqual([51, 51]);

    const noTook = layoutColumns(wide.minWidth - 40, ['a', 'b'], {});
    expect(noTook).toMatchObject({ showAge: true, showTook: false });
    // without the duration the metrics get their width back
    expect(noTook.metricWidths).toEqual([56, 56]);

    const narrow = layoutColumns(232, ['a', 'b'], {});
    expect(narrow).toMatchObject({ showAge: false, showTook: false });
    expect(narrow.minWidth).toBeLessThanOrEqual(232);
  });

  it('scrolls sideways only when even the minimums do not fit', () => {
    const layout = layoutColumns(200, ['a', 'b', 'c', 'd'], {});
    expect(layout).toMatchObject({ showAge: false, showTook: false });
    expect(layout.metricWidths).toEqual([40, 40, 40, 40]);
    expect(layout.minWidth).toBeGreaterThan(200);
    expect(layout.minWidth).toBe(rowWidth(layout.template));
  });

  it("uses the widths the user dragged, within each column's limits", () => {
    const layout = layoutColumns(1000, ['accuracy', 'loss'], {
      [metricKey('accuracy')]: 120,
      [metricKey('loss')]: 5,
      [AGE]: 50
    });
    expect(layout.metricWidths).toEqual([120, minimumWidth(metricKey('loss'))]);
    expect(widths(layout.template)[3]).toBe(50);
  });

  it('keeps a dragged width in a narrow sidebar, shrinking only the others', () => {
    const layout = layoutColumns(235, ['accuracy', 'loss'], {
      [metricKey('accuracy')]: 90
    });
    expect(layout.metricWidths[0]).toBe(90);
    expect(layout.metricWidths[1]).toBe(minimumWidth(metricKey('loss')));
    expect(layout).toMatchObject({ showAge: false, showTook: false });
  });
});

describe('clampWidth', () => {
  it('keeps a dragged width between the minimum and the maximum', () => {
    expect(clampWidth(TOOK, 3)).toBe(minimumWidth(TOOK));
    expect(clampWidth(metricKey('x'), 10_000)).toBe(MAX_COLUMN_WIDTH);
    expect(clampWidth(metricKey('x'), 77.6)).toBe(78);
  });
});

describe('sharedNames', () => {
  it('names carried by more than one run', () => {
    const runs = [
      { name: 'logreg' },
      { name: 'random_forest' },
      { name: 'logreg' },
      { name: null },
      { name: null }
    ];
    expect([...sharedNames(runs)]).toEqual(['logreg']);
  });
});

describe('splitName', () => {
  it('keeps the end of a long name apart so that it is never cut', () => {
    expect(splitName('logreg-c005-balanced')).toEqual({
      head: 'logreg-c005-bal',
      tail: 'anced'
    });
  });
  it('leaves short names whole', () => {
    expect(splitName('logreg-c1')).toEqual({ head: 'logreg-c1', tail: '' });
    expect(splitName('')).toEqual({ head: '', tail: '' });
  });
  it('never splits a character', () => {
    const { head, tail } = splitName('model-🚀🚀🚀🚀🚀🚀');
    expect(tail).toBe('🚀🚀🚀🚀🚀');
    expect(head + tail).toBe('model-🚀🚀🚀🚀🚀🚀');
  });
});
