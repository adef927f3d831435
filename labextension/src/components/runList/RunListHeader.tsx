/**
 * The column headers of the runs list. A metric header orders the list by that metric
 * (best first, then lowest first, then back to newest runs first); dragging the right edge
 * of the age, duration or a metric header resizes that column (columns.ts keeps it within
 * its limits; the width is remembered with the sidebar's state).
 */
import * as React from 'react';

import { RunsListModel } from '../../model';
import { AGE, clampWidth, IColumnLayout, metricKey, TOOK } from './columns';

export interface IRunListHeaderProps {
  model: RunsListModel;
  layout: IColumnLayout;
}

/** Header over the scroller; its viewport scrolls sideways with the rows. */
export const RunListHeader = React.forwardRef<
  HTMLDivElement,
  IRunListHeaderProps
>((props, ref) => {
  const { model, layout } = props;
  return (
    <div ref={ref} className="jp-mm-RunList-headerViewport">
      <div
        className="jp-mm-RunList-header"
        style={{
          gridTemplateColumns: layout.template,
          minWidth: layout.minWidth
        }}
      >
        <span aria-hidden="true" />
        <span aria-hidden="true" />
        <span>Run</span>
        {layout.showAge && (
          <span
            className="jp-mm-RunList-numeric"
            title="Time since the run started"
          >
            Age
            <ColumnResizer model={model} columnKey={AGE} />
          </span>
        )}
        {layout.showTook && (
          <span className="jp-mm-RunList-numeric" title="Duration">
            Took
            <ColumnResizer model={model} columnKey={TOOK} />
          </span>
        )}
        {model.metricColumns.map(name => (
          <MetricHeader key={name} model={model} name={name} />
        ))}
        <span
          className="jp-mm-RunList-badgeHeader"
          title="Reproducibility flags and capture warnings"
        >
          !
        </span>
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
      <ColumnResizer model={model} columnKey={metricKey(name)} />
    </span>
  );
}

/**
 * The draggable right edge of a header cell. Pointer capture keeps the drag going when the
 * pointer leaves the handle; a click on the handle does not reach the header (no sorting).
 */
function ColumnResizer(props: {
  model: RunsListModel;
  columnKey: string;
}): JSX.Element {
  const { model, columnKey } = props;
  const drag = React.useRef<{ x: number; width: number } | null>(null);
  const onPointerDown = (event: React.PointerEvent<HTMLSpanElement>): void => {
    event.preventDefault();
    event.stopPropagation();
    const cell = event.currentTarget.parentElement;
    if (!cell) {
      return;
    }
    event.currentTarget.setPointerCapture(event.pointerId);
    drag.current = {
      x: event.clientX,
      width: cell.getBoundingClientRect().width
    };
  };
  const onPointerMove = (event: React.PointerEvent<HTMLSpanElement>): void => {
    const start = drag.current;
    if (start) {
      const width = clampWidth(
        columnKey,
        start.width + event.clientX - start.x
      );
      model.setColumnWidth(columnKey, width);
    }
  };
  const onPointerUp = (event: React.PointerEvent<HTMLSpanElement>): void => {
    drag.current = null;
    event.currentTarget.releasePointerCapture(event.pointerId);
  };
  return (
    <span
      className="jp-mm-RunList-resizer"
      data-testid="mm-column-resizer"
      data-column={columnKey}
      role="separator"
      aria-orientation="vertical"
      aria-label={`Resize the ${columnKey.replace(/^metric:/, '')} column`}
      title="Drag to resize the column"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onClick={event => event.stopPropagation()}
    />
  );
}
