/**
 * Vega-Lite specs of the Monitoring view: the performance timeline (measured and
 * estimated values on one time axis, the gate's bound as a rule) and one feature's
 * reference-versus-window histogram. Pure functions of the report, drawn by JupyterLab's
 * renderer (charts.ts).
 */
import {
  FeatureDrift,
  MetricThreshold,
  MonitoringReport,
  PerformanceWindow
} from './api/schema';

/** Metrics tried, in order, when the view picks the timeline's default metric. */
export const TIMELINE_METRICS = [
  'roc_auc',
  'accuracy',
  'f1',
  'log_loss',
  'rmse',
  'mae'
];

/** One point of the timeline: a window's value, measured from labels or estimated. */
export interface ITimelinePoint {
  window: number;
  time: number;
  value: number;
  source: 'measured' | 'estimated';
}

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The metrics the timeline can show: those with a value (measured or estimated) in some
 * window, the preferred ones first.
 */
export function timelineMetrics(report: MonitoringReport): string[] {
  const found = new Set<string>();
  for (const window of report.performance) {
    for (const values of [window.measured, window.estimated]) {
      for (const [name, value] of Object.entries(values)) {
        if (finite(value)) {
          found.add(name);
        }
      }
    }
  }
  const preferred = TIMELINE_METRICS.filter(name => found.has(name));
  const others = [...found].filter(name => !preferred.includes(name)).sort();
  return [...preferred, ...others];
}

/**
 * The points of `metric`: each window's measured value, and its estimate where the window
 * has no measured one (an estimate is replaced once labels arrive, as the report says).
 */
export function timelinePoints(
  windows: PerformanceWindow[],
  metric: string
): ITimelinePoint[] {
  const points: ITimelinePoint[] = [];
  for (const window of windows) {
    const measured = window.measured[metric];
    const estimated = window.estimated[metric];
    const time = window.end_time * 1000;
    if (finite(measured)) {
      points.push({
        window: window.index,
        time,
        value: measured,
        source: 'measured'
      });
    } else if (finite(estimated)) {
      points.push({
        window: window.index,
        time,
        value: estimated,
        source: 'estimated'
      });
    }
  }
  return points;
}

/** The bound drawn with `metric`'s timeline, if a production gate names it. */
export function thresholdFor(
  report: MonitoringReport,
  metric: string
): MetricThreshold | null {
  return report.thresholds.find(t => t.metric === metric) ?? null;
}

/** Whether `value` breaks `threshold` (the gate's condition does not hold). */
export function breaches(threshold: MetricThreshold, value: number): boolean {
  switch (threshold.op) {
    case '<':
      return !(value < threshold.value);
    case '<=':
      return !(value <= threshold.value);
    case '>':
      return !(value > threshold.value);
    case '>=':
      return !(value >= threshold.value);
  }
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Measured values as a solid line, estimates as dashed points, the bound as a rule. */
export function timelineSpec(
  metric: string,
  points: ITimelinePoint[],
  threshold: MetricThreshold | null
): Record<string, any> {
  const layers: Record<string, any>[] = [
    {
      mark: { type: 'line', point: true },
      encoding: {
        tooltip: [
          { field: 'window', type: 'quantitative', title: 'window' },
          {
            field: 'time',
            type: 'temporal',
            title: 'ends',
            format: '%Y-%m-%d %H:%M:%S'
          },
          {
            field: 'value',
            type: 'quantitative',
            title: metric,
            format: '.4f'
          },
          { field: 'source', type: 'nominal' }
        ],
        // Windows, not clock time, on the axis: a batch logged at once puts every
        // window at the same instant. The window's end time is in the tooltip.
        x: {
          field: 'window',
          type: 'quantitative',
          title: 'window (oldest → newest)',
          axis: { tickMinStep: 1, format: 'd' }
        },
        y: {
          field: 'value',
          type: 'quantitative',
          title: metric,
          scale: { zero: false }
        },
        color: {
          field: 'source',
          type: 'nominal',
          title: null,
          scale: { domain: ['measured', 'estimated'] }
        },
        strokeDash: {
          field: 'source',
          type: 'nominal',
          legend: null,
          scale: {
            domain: ['measured', 'estimated'],
            range: [
              [1, 0],
              [4, 3]
            ]
          }
        }
      }
    }
  ];
  if (threshold) {
    layers.push({
      data: { values: [{ bound: threshold.value }] },
      mark: { type: 'rule', strokeDash: [2, 2], color: '#d62728' },
      encoding: {
        y: { field: 'bound', type: 'quantitative' },
        tooltip: [
          {
            field: 'bound',
            type: 'quantitative',
            title: `${threshold.source}: ${metric} ${threshold.op}`
          }
        ]
      }
    });
  }
  return {
    $schema: SCHEMA,
    description: `${metric} per window`,
    width: 'container',
    height: 160,
    autosize: { type: 'fit-x', contains: 'padding' },
    background: null,
    data: { values: points },
    layer: layers
  };
}

/** One bar per bin and per side (reference, window), shares of the non-missing values. */
export function histogramRows(
  drift: FeatureDrift
): { bin: string; order: number; side: string; share: number }[] {
  const { edges, categories, reference, current } = drift.histogram;
  const label = (i: number): string => {
    if (categories) {
      return categories[i] === '__other__' ? '(other)' : categories[i];
    }
    if (edges && edges.length > i + 1) {
      return `${formatEdge(edges[i])} – ${formatEdge(edges[i + 1])}`;
    }
    return String(i);
  };
  const rows = [];
  for (let i = 0; i < reference.length; i++) {
    rows.push({
      bin: label(i),
      order: i,
      side: 'reference',
      share: reference[i] ?? 0
    });
    rows.push({
      bin: label(i),
      order: i,
      side: 'window',
      share: current[i] ?? 0
    });
  }
  return rows;
}

/** Bin edges short enough for an axis label. */
export function formatEdge(value: number): string {
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '−∞';
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) {
    return value.toExponential(1);
  }
  return String(Number(value.toPrecision(3)));
}

/** Reference and window shares side by side per bin. */
export function histogramSpec(drift: FeatureDrift): Record<string, any> {
  return {
    $schema: SCHEMA,
    description: `${drift.feature}: reference and window distributions`,
    width: 'container',
    height: 140,
    autosize: { type: 'fit-x', contains: 'padding' },
    background: null,
    data: { values: histogramRows(drift) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'bin',
        type: 'ordinal',
        title: drift.feature,
        sort: { field: 'order' },
        axis: { labelAngle: -40, labelLimit: 90, labelOverlap: true }
      },
      xOffset: { field: 'side' },
      y: {
        field: 'share',
        type: 'quantitative',
        title: 'share',
        axis: { format: '%' }
      },
      color: {
        field: 'side',
        type: 'nominal',
        title: null,
        scale: { domain: ['reference', 'window'] }
      }
    }
  };
}
