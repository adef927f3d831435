/**
 * Metric step charts, drawn by JupyterLab's own Vega-Lite renderer (the one that renders
 * Altair outputs), so that charts follow the user's theme and no charting library is bundled.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { Metric, MetricValue } from './api/schema';

/** Vega-Lite MIME types JupyterLab has registered over time, newest first. */
export const VEGALITE_MIME_TYPES = [
  'application/vnd.vegalite.v5+json',
  'application/vnd.vegalite.v4+json',
  'application/vnd.vegalite.v3+json'
];

/** The newest Vega-Lite MIME type with a renderer in this JupyterLab, or null. */
export function vegaLiteMimeType(
  rendermime: IRenderMimeRegistry
): string | null {
  const known = new Set(rendermime.mimeTypes);
  return VEGALITE_MIME_TYPES.find(mime => known.has(mime)) ?? null;
}

/** JSON carries non-finite floats as strings; Vega-Lite plots numbers only. */
export function metricNumber(value: MetricValue | null): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

/** Points drawn per chart at most: more than a chart's pixels across adds nothing visible. */
export const MAX_CHART_POINTS = 2000;

/**
 * At most `limit` points of a series, evenly spaced over it, first and last always kept,
 * so that a metric logged every batch for a long training still draws at once.
 */
export function thinSeries<T>(
  points: T[],
  limit: number = MAX_CHART_POINTS
): T[] {
  if (points.length <= limit) {
    return points;
  }
  const stride = (points.length - 1) / (limit - 1);
  const kept: T[] = [];
  for (let i = 0; i < limit; i++) {
    kept.push(points[Math.round(i * stride)]);
  }
  return kept;
}

/**
 * A line chart of one metric over its steps. Colours, fonts and background are left to the
 * renderer's theme (light or dark) instead of being fixed here.
 */
export function metricChartSpec(
  name: string,
  points: Metric[]
): Record<string, any> {
  const values = thinSeries(points)
    .map(p => ({ step: p.step, value: metricNumber(p.value) }))
    .filter(p => p.value !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    description: `${name} by step`,
    width: 'container',
    height: 140,
    autosize: { type: 'fit-x', contains: 'padding' },
    background: null,
    data: { values },
    mark: { type: 'line', point: values.length <= 50, tooltip: true },
    encoding: {
      // steps are integers: no fractional ticks between them
      x: {
        field: 'step',
        type: 'quantitative',
        title: 'step',
        axis: { tickMinStep: 1, format: 'd' }
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: name,
        scale: { zero: false }
      }
    }
  };
}

/** Group a run's metric history by name, each group ordered by step. */
export function metricSeries(metrics: Metric[]): Map<string, Metric[]> {
  const series = new Map<string, Metric[]>();
  for (const metric of metrics) {
    const list = series.get(metric.name) ?? [];
    list.push(metric);
    series.set(metric.name, list);
  }
  for (const list of series.values()) {
    list.sort((x, y) => x.step - y.step || x.timestamp - y.timestamp);
  }
  return series;
}

/**
 * Render a Vega-Lite `spec` into `host` through the registry's renderer and return the
 * renderer widget (the caller disposes it). The widget is attached before the model is
 * rendered: a spec's width follows its container, which Vega measures once, so it must
 * already be in the page. Returns null when JupyterLab has no Vega-Lite renderer (the
 * caller shows a table instead).
 */
export async function renderVegaLite(
  rendermime: IRenderMimeRegistry,
  spec: Record<string, any>,
  host: HTMLElement
): Promise<Widget | null> {
  const mime = vegaLiteMimeType(rendermime);
  if (mime === null) {
    return null;
  }
  const renderer = rendermime.createRenderer(mime);
  renderer.addClass('jp-mm-MetricChart-plot');
  Widget.attach(renderer, host);
  const model = new MimeModel({
    data: { [mime]: spec as any },
    // Hide the "…" export menu: the chart belongs to the view, not to an output.
    metadata: { [mime]: { embed_options: { actions: false } } }
  });
  try {
    await renderer.renderModel(model);
  } catch (error) {
    renderer.dispose();
    throw error;
  }
  return renderer;
}

/**
 * Dispose of a widget attached to a host element of a React tree (a chart, a rendered
 * output). When the view around it was taken off the page first (its tab closed or
 * replaced), the host is gone from the document and lumino's detach would throw "Widget
 * is not attached": the widget is then disposed of without being detached.
 */
export function disposeHosted(widget: Widget): void {
  if (widget.isAttached && !widget.node.isConnected) {
    widget.clearFlag(Widget.Flag.IsAttached);
  }
  widget.dispose();
}
