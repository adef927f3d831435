/**
 * A Vega-Lite chart in a React tree: the Lumino widget JupyterLab's renderer makes is
 * attached into this component's container and disposed with it. Without a Vega-Lite
 * renderer (or when rendering fails) the `fallback` is shown instead, so the numbers stay
 * readable.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { disposeHosted, renderVegaLite } from '../charts';

export function VegaChart(props: {
  spec: Record<string, any>;
  rendermime: IRenderMimeRegistry;
  caption: string;
  fallback: JSX.Element;
  testid?: string;
  /** `data-metric` of the figure (the metric a chart draws, for tests and styles) */
  metric?: string;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const [failed, setFailed] = React.useState(false);
  const { spec, rendermime, caption } = props;
  React.useEffect(() => {
    let widget: Widget | null = null;
    let cancelled = false;
    if (!host.current) {
      return;
    }
    renderVegaLite(rendermime, spec, host.current)
      .then(rendered => {
        if (cancelled) {
          if (rendered) {
            disposeHosted(rendered);
          }
        } else if (rendered === null) {
          setFailed(true);
        } else {
          widget = rendered;
        }
      })
      .catch(error => {
        console.warn(
          `jupyter-mm: the chart "${caption}" failed to render`,
          error
        );
        if (!cancelled) {
          setFailed(true);
        }
      });
    return () => {
      cancelled = true;
      if (widget) {
        disposeHosted(widget);
      }
    };
  }, [spec, rendermime, caption]);
  return (
    <figure
      className="jp-mm-MetricChart"
      data-testid={props.testid}
      data-metric={props.metric}
    >
      <figcaption>{caption}</figcaption>
      {failed ? (
        props.fallback
      ) : (
        <div ref={host} className="jp-mm-MetricChart-host" />
      )}
    </figure>
  );
}
