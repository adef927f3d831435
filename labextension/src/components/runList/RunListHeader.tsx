/**
 * The column headers of the runs list; a metric header orders the list by that metric
 * (best first, then lowest first, then back to newest runs first).
 */
import * as React from 'react';

import { RunsListModel } from '../../model';

export interface IRunListHeaderProps {
  model: RunsListModel;
  template: string;
  minWidth: number;
}

/** Header over the scroller; its viewport scrolls sideways with the rows. */
export const RunListHeader = React.forwardRef<
  HTMLDivElement,
  IRunListHeaderProps
>((props, ref) => {
  const { model, template, minWidth } = props;
  return (
    <div ref={ref} className="jp-mm-RunList-headerViewport" aria-hidden="true">
      <div
        className="jp-mm-RunList-header"
        style={{ gridTemplateColumns: template, minWidth }}
      >
        <span />
        <span />
        <span>Run</span>
        <span
          className="jp-mm-RunList-numeric"
          title="Time since the run started"
        >
          Age
        </span>
        <span className="jp-mm-RunList-numeric" title="Duration">
          Took
        </span>
        {model.metricColumns.map(name => (
          <MetricHeader key={name} model={model} name={name} />
        ))}
        <span title="Reproducibility flags and capture warnings">!</span>
      </div>
    </div>
  );
});

function MetricHeader(props: {
  model: RunsListModel;
  name: string;
}): JSX.Element {
  const { model, name } = props;
  const sorted = model.sortedMetric?.name === name ? model.sortedMetric : null;
  const arrow = sorted ? (sorted.descending ? '▼' : '▲') : '';
  const next = !sorted
    ? 'highest first'
    : sorted.descending
      ? 'lowest first'
      : 'newest runs first';
  return (
    <span
      className={`jp-mm-RunList-numeric jp-mm-RunList-sortable${
        sorted ? ' jp-mm-mod-sorted' : ''
      }`}
      data-testid="mm-metric-header"
      data-metric={name}
      title={`${name}: click to list ${next}${
        sorted ? '' : ' (runs without it are left out)'
      }`}
      onClick={() => model.sortByMetric(name)}
    >
      {arrow}
      {name}
    </span>
  );
}
