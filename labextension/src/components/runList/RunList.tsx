/**
 * The virtualized runs list: only the rows in view (plus a few above and below) are in the
 * DOM, each at a fixed height, so scrolling stays smooth however many runs are loaded. The
 * next page is requested when the user nears the end of what is loaded. Scrolling lives in
 * useViewport, keys in useRowKeyboard, the rows in RunRow.
 */
import * as React from 'react';

import type { RunSummary } from '../../api/schema';
import { RunsListModel } from '../../model';
import { useMarkRowsShown, useNow, usePrefetch } from './hooks';
import { IColumnLayout, layoutColumns, sharedNames } from './columns';
import { renderedRange, ROW_HEIGHT } from './layout';
import { RunListHeader } from './RunListHeader';
import { RunRow } from './RunRow';
import { useRowKeyboard } from './useRowKeyboard';
import { useViewport } from './useViewport';

/** Relative start times ("5m") age: re-render twice a minute. */
const CLOCK_INTERVAL_MS = 30_000;

export interface IRunListProps {
  model: RunsListModel;
  /** Open a run's detail (plain click, Enter). */
  onOpen: (runId: string) => void;
}

export function RunList(props: IRunListProps): JSX.Element {
  const { model, onOpen } = props;
  const runs = model.runs;
  const columns = model.metricColumns;
  const header = React.useRef<HTMLDivElement>(null);
  const [focused, setFocused] = React.useState(0);
  const now = useNow(CLOCK_INTERVAL_MS);
  const viewport = useViewport(model, setFocused);
  const { first, last } = renderedRange(
    viewport.scrollTop,
    viewport.viewHeight,
    runs.length
  );
  const rendered = runs.slice(first, last);
  useMarkRowsShown(rendered);
  usePrefetch(model, last, runs.length);
  const focusedIndex = Math.min(focused, Math.max(0, runs.length - 1));
  const onKeyDown = useRowKeyboard({
    model,
    runs,
    viewport,
    focusedIndex,
    setFocused,
    onOpen
  });

  const onScroll = (event: React.UIEvent<HTMLDivElement>): void => {
    const node = event.currentTarget;
    viewport.setScrollTop(node.scrollTop);
    if (header.current) {
      header.current.scrollLeft = node.scrollLeft;
    }
  };

  const layout = layoutColumns(viewport.viewWidth, columns, model.columnWidths);
  const minWidth = layout.minWidth;
  return (
    <div className="jp-mm-RunList">
      <RunListHeader ref={header} model={model} layout={layout} />
      <div
        ref={viewport.scroller}
        className="jp-mm-RunList-scroller"
        role="listbox"
        aria-label="Runs"
        aria-multiselectable="true"
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        <div
          className="jp-mm-RunList-canvas"
          style={{
            height: (runs.length + (model.hasMore ? 1 : 0)) * ROW_HEIGHT,
            minWidth
          }}
        >
          <RenderedRows
            model={model}
            rows={rendered}
            first={first}
            focusedIndex={focusedIndex}
            layout={layout}
            sharedNames={sharedNames(runs)}
            now={now}
            setFocused={setFocused}
            onOpen={onOpen}
          />
          {model.hasMore && (
            <div
              className="jp-mm-RunList-more"
              style={{ top: runs.length * ROW_HEIGHT }}
            >
              Loading more runs…
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

interface IRenderedRowsProps {
  model: RunsListModel;
  /** The runs rendered, from index `first` of the list. */
  rows: readonly RunSummary[];
  first: number;
  focusedIndex: number;
  layout: IColumnLayout;
  sharedNames: ReadonlySet<string>;
  now: number;
  setFocused: (index: number) => void;
  onOpen: (runId: string) => void;
}

/** The rows in view: a click opens a run, ctrl/cmd/shift-click toggles its selection. */
function RenderedRows(props: IRenderedRowsProps): JSX.Element {
  const { model, setFocused, onOpen } = props;
  const onRowClick = (
    event: React.MouseEvent,
    run: RunSummary,
    index: number
  ): void => {
    setFocused(index);
    if (event.ctrlKey || event.metaKey || event.shiftKey) {
      model.toggleSelected(run.id);
      return;
    }
    model.select(run.id);
    onOpen(run.id);
  };
  return (
    <>
      {props.rows.map((run, offset) => {
        const index = props.first + offset;
        return (
          <RunRow
            key={run.id}
            run={run}
            top={index * ROW_HEIGHT}
            layout={props.layout}
            columns={model.metricColumns}
            nameShared={!!run.name && props.sharedNames.has(run.name)}
            selected={model.selection.includes(run.id)}
            focusable={index === props.focusedIndex}
            now={props.now}
            onClick={event => onRowClick(event, run, index)}
            onToggle={() => model.toggleSelected(run.id)}
            onFocus={() => setFocused(index)}
          />
        );
      })}
    </>
  );
}
