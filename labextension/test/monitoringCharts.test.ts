import { describe, expect, it } from 'vitest';

import type {
  FeatureDrift,
  MetricThreshold,
  MonitoringReport,
  PerformanceWindow
} from '../src/api/schema';
import {
  breaches,
  formatEdge,
  histogramRows,
  histogramSpec,
  thresholdFor,
  timelineMetrics,
  timelinePoints,
  timelineSpec
} from '../src/monitoringCharts';

function window(
  index: number,
  measured: Record<string, number | null>,
  estimated: Record<string, number | null>
): PerformanceWindow {
  return {
    index,
    start_time: 1000 + index * 60,
    end_time: 1060 + index * 60,
    rows: 100,
    labelled: Object.keys(measured).length ? 100 : 0,
    source: Object.keys(measured).length ? 'measured' : 'estimated',
    measured,
    estimated,
    metrics: {}
  };
}

function report(
  performance: PerformanceWindow[],
  thresholds: MetricThreshold[] = []
): MonitoringReport {
  return { performance, thresholds } as unknown as MonitoringReport;
}

describe('timelinePoints', () => {
  it('keeps measured values and fills unlabelled windows with estimates', () => {
    const windows = [
      window(0, { roc_auc: 0.9 }, { roc_auc: 0.88 }),
      window(1, {}, { roc_auc: 0.7 }),
      window(2, { roc_auc: null }, { roc_auc: 0.65 }),
      window(3, {}, {})
    ];
    const points = timelinePoints(windows, 'roc_auc');
    expect(points.map(p => [p.window, p.value, p.source])).toEqual([
      [0, 0.9, 'measured'],
      [1, 0.7, 'estimated'],
      [2, 0.65, 'estimated']
    ]);
    expect(points[0].time).toBe(1060 * 1000);
  });

  it('skips values JSON could not carry as numbers', () => {
    const windows = [window(0, { f1: Number.NaN }, { f1: Infinity })];
    expect(timelinePoints(windows, 'f1')).toEqual([]);
  });
});

describe('timelineMetrics', () => {
  it('lists metrics with a value, the preferred ones first', () => {
    const r = report([
      window(0, { zeta: 1, accuracy: 0.8 }, {}),
      window(1, {}, { roc_auc: 0.7, empty: null })
    ]);
    expect(timelineMetrics(r)).toEqual(['roc_auc', 'accuracy', 'zeta']);
  });
});

describe('thresholds', () => {
  const bound: MetricThreshold = {
    metric: 'roc_auc',
    op: '>=',
    value: 0.78,
    source: 'gate:production'
  };

  it('finds the bound of a metric', () => {
    const r = report([], [bound]);
    expect(thresholdFor(r, 'roc_auc')).toBe(bound);
    expect(thresholdFor(r, 'f1')).toBeNull();
  });

  it.each([
    ['>=', 0.77, true],
    ['>=', 0.78, false],
    ['>', 0.78, true],
    ['<', 0.78, true],
    ['<', 0.5, false],
    ['<=', 0.78, false]
  ] as const)('%s 0.78 breached by %s: %s', (op, value, expected) => {
    expect(breaches({ ...bound, op }, value)).toBe(expected);
  });

  it('draws the bound as a rule layer only when there is one', () => {
    const points = timelinePoints([window(0, { roc_auc: 0.9 }, {})], 'roc_auc');
    expect(timelineSpec('roc_auc', points, null).layer).toHaveLength(1);
    const spec = timelineSpec('roc_auc', points, bound);
    expect(spec.layer).toHaveLength(2);
    expect(spec.layer[1].data.values).toEqual([{ bound: 0.78 }]);
    expect(spec.data.values).toEqual(points);
  });
});

describe('histograms', () => {
  const numeric: FeatureDrift = {
    feature: 'amount',
    kind: 'numeric',
    method: 'wasserstein',
    value: 0.4,
    threshold: 0.1,
    threshold_source: 'calibrated',
    drifted: true,
    statistics: {},
    missing_reference: 0,
    missing_current: 0,
    rows: 10,
    histogram: {
      edges: [-Infinity, 0, 12.5, Infinity],
      categories: null,
      reference: [0.2, 0.5, 0.3],
      current: [0.1, 0.2, 0.7]
    }
  } as FeatureDrift;

  it('pairs reference and window shares per bin with readable labels', () => {
    const rows = histogramRows(numeric);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toEqual({
      bin: '−∞ – 0',
      order: 0,
      side: 'reference',
      share: 0.2
    });
    expect(rows[5]).toEqual({
      bin: '12.5 – ∞',
      order: 2,
      side: 'window',
      share: 0.7
    });
    expect(histogramSpec(numeric).data.values).toEqual(rows);
  });

  it('names categories and the other bucket', () => {
    const categorical = {
      ...numeric,
      kind: 'categorical',
      histogram: {
        edges: null,
        categories: ['a', '__other__'],
        reference: [0.9, 0.1],
        current: [0.5, 0.5]
      }
    } as FeatureDrift;
    expect(histogramRows(categorical).map(r => r.bin)).toEqual([
      'a',
      'a',
      '(other)',
      '(other)'
    ]);
  });

  it.each([
    [0.000012, '1.2e-5'],
    [123456, '1.2e+5'],
    [3.14159, '3.14'],
    [0, '0']
  ])('formats edge %s as %s', (value, text) => {
    expect(formatEdge(value)).toBe(text);
  });
});
