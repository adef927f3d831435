/**
 * The virtualized runs list: only the rows in view (plus a few above and below) are in the
 * DOM, each at a fixed height, so scrolling stays smooth however many runs are loaded. The
 * next page is requested when the user nears the end of what is loaded.
 *
 * Keyboard: the list is one tab stop (roving tabindex); ArrowUp/ArrowDown/Home/End/PageUp/
 * PageDown move, Enter opens the run, Space toggles it in the selection.
 */
import * as React from 'react';

import type { RunSummary } from '../api/schema';
import { RunsListModel } from '../model';
import { markRowShown } from '../timing';
import {
  formatDuration,
  formatMetric,
  formatAge,
  formatTime,
  shortRunId,
  statusLabel
} from '../format';

/** Row height in pixels; must match `.jp-mm-RunRow` in base.css. */
export const ROW_HEIGHT = 28;
/** Significant digits of metric values in the narrow columns (the tooltip has them all). */
const LIST_DIGITS = 4;
/** Rows rendered beyond the visible ones, so that fast scrolling shows no blank band. */
const OVERSCAN = 8;
/** Ask for the next page when fewer than this many loaded rows remain below the view. */
const PREFETCH_ROWS = 40;

export interface IRunListProps {
  model: RunsListModel;
  /** Open a run's detail (plain click, Enter). */
  onOpen: (runId: string) => void;
}

/** Grid columns: checkbox, status, name, started, duration, one per metric, badge. */
function gridColumns(metricCount: number): string {
  return ['14px', '8px', 'minmax(48px, 1fr)', '28px', '42px']
    .concat(Array(metricCount).fill('48px'))
    .concat(['18px'])
    .join(' ');
}

/**
 * Narrowest width the columns fit in (their minimum widths, 4px gaps, 12px padding). A
 * narrow sidebar scrolls sideways instead of clipping the metric columns.
 */
function minimumRowWidth(metricCount: number): number {
  const fixed = 14 + 8 + 48 + 28 + 42 + 18;
  return fixed + metricCount * 48 + (6 + metricCount - 1) * 4 + 12;
}

export function RunList(props: IRunListProps): JSX.Element {
  const { model, onOpen } = props;
  const runs = model.runs;
  const columns = model.metricColumns;
  const scroller = React.useRef<HTMLDivElement>(null);
  const header = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewHeight, setViewHeight] = React.useState(400);
  const [focused, setFocused] = React.useState(0);
  const focusAfterRender = React.useRef(false);
  const [now, setNow] = React.useState(Date.now());

  // Relative start times ("5 min ago") age: re-render twice a minute.
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => window.clearInterval(timer);
  }, []);

  // Track the viewport height (the sidebar is resized, the window too).
  React.useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    setViewHeight(node.clientHeight);
    const observer = new ResizeObserver(() => setViewHeight(node.clientHeight));
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  // A refresh put rows above the first one: move down by as much, so the rows the user is
  // looking at stay put — unless they are at the very top, where new runs should show.
  React.useEffect(() => {
    const onInserted = (_: RunsListModel, count: number): void => {
      const node = scroller.current;
      if (node && count > 0 && node.scrollTop > 0) {
        node.scrollTop += count * ROW_HEIGHT;
        setFocused(index => index + count);
      }
    };
    model.rowsInserted.connect(onInserted);
    return () => {
      model.rowsInserted.disconnect(onInserted);
    };
  }, [model]);

  // New filters start a new list: back to its top (the browser would only clamp the old
  // offset, and may not even report that as a scroll).
  React.useEffect(() => {
    if (scroller.current) {
      scroller.current.scrollTop = 0;
    }
    setScrollTop(0);
    setFocused(0);
  }, [model.generation]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(
    runs.length,
    Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN
  );
  const visible = runs.slice(first, last);

  // Record when rows first appear (browser tests measure cell-finish → row latency).
  React.useEffect(() => {
    for (const run of visible) {
      markRowShown(run.id);
    }
  });

  // Page in more rows before the user reaches the end.
  React.useEffect(() => {
    if (model.hasMore && last + PREFETCH_ROWS >= runs.length) {
      void model.loadMore();
    }
  }, [last, runs.length, model.hasMore]);

  const focusedIndex = Math.min(focused, Math.max(0, runs.length - 1));

  // Keyboard moves focus to a row that may not have been rendered yet: focus it after render.
  React.useEffect(() => {
    if (!focusAfterRender.current) {
      return;
    }
    focusAfterRender.current = false;
    const run = runs[focusedIndex];
    const row = run
      ? scroller.current?.querySelector<HTMLElement>(
          `[data-run-id="${CSS.escape(run.id)}"]`
        )
      : null;
    row?.focus();
  });

  const moveFocus = (index: number): void => {
    const target = Math.max(0, Math.min(runs.length - 1, index));
    const node = scroller.current;
    if (node) {
      const top = target * ROW_HEIGHT;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + ROW_HEIGHT > node.scrollTop + node.clientHeight) {
        node.scrollTop = top + ROW_HEIGHT - node.clientHeight;
      }
      setScrollTop(node.scrollTop);
    }
    focusAfterRender.current = true;
    setFocused(target);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (
      runs.length === 0 ||
      (event.target as HTMLElement).tagName === 'INPUT'
    ) {
      return;
    }
    const page = Math.max(1, Math.floor(viewHeight / ROW_HEIGHT) - 1);
    const run = runs[focusedIndex];
    switch (event.key) {
      case 'ArrowDown':
        moveFocus(focusedIndex + 1);
        break;
      case 'ArrowUp':
        moveFocus(focusedIndex - 1);
        break;
      case 'PageDown':
        moveFocus(focusedIndex + page);
        break;
      case 'PageUp':
        moveFocus(focusedIndex - page);
        break;
      case 'Home':
        moveFocus(0);
        break;
      case 'End':
        moveFocus(runs.length - 1);
        break;
      case 'Enter':
        if (run) {
          model.select(run.id);
          onOpen(run.id);
        }
        break;
      case ' ':
        if (run) {
          model.toggleSelected(run.id);
        }
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
  };

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

  const onScroll = (event: React.UIEvent<HTMLDivElement>): void => {
    const node = event.currentTarget;
    setScrollTop(node.scrollTop);
    if (header.current) {
      header.current.scrollLeft = node.scrollLeft;
    }
  };

  const template = gridColumns(columns.length);
  const minWidth = minimumRowWidth(columns.length);
  return (
    <div className="jp-mm-RunList">
      <div
        ref={header}
        className="jp-mm-RunList-headerViewport"
        aria-hidden="true"
      >
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
          {columns.map(name => {
            const sorted =
              model.sortedMetric?.name === name ? model.sortedMetric : null;
            const arrow = sorted ? (sorted.descending ? '▼' : '▲') : '';
            const next = !sorted
              ? 'highest first'
              : sorted.descending
                ? 'lowest first'
                : 'newest runs first';
            return (
              <span
                key={name}
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
          })}
          <span title="Reproducibility flags and capture warnings">!</span>
        </div>
      </div>
      <div
        ref={scroller}
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
          {visible.map((run, offset) => {
            const index = first + offset;
            return (
              <RunRow
                key={run.id}
                run={run}
                top={index * ROW_HEIGHT}
                template={template}
                columns={columns}
                selected={model.selection.includes(run.id)}
                focusable={index === focusedIndex}
                now={now}
                onClick={event => onRowClick(event, run, index)}
                onToggle={() => model.toggleSelected(run.id)}
                onFocus={() => setFocused(index)}
              />
            );
          })}
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

interface IRunRowProps {
  run: RunSummary;
  top: number;
  template: string;
  columns: readonly string[];
  selected: boolean;
  focusable: boolean;
  now: number;
  onClick: (event: React.MouseEvent) => void;
  onToggle: () => void;
  onFocus: () => void;
}

/** One run. */
function RunRow(props: IRunRowProps): JSX.Element {
  const { run, columns } = props;
  const issues = run.flag_count + run.warning_count;
  const duration = run.end_time === null ? null : run.end_time - run.start_time;
  const label = run.name ?? shortRunId(run.id);
  const issueTitle = [
    ...run.flags.map(flag => flag.message),
    ...run.warnings,
    ...(run.error ? [`Error: ${run.error}`] : [])
  ].join('\n');
  return (
    <div
      className={`jp-mm-RunRow jp-mm-RunRow-${run.status}${props.selected ? ' jp-mod-selected' : ''}`}
      data-testid="mm-run-row"
      data-run-id={run.id}
      role="option"
      aria-selected={props.selected}
      tabIndex={props.focusable ? 0 : -1}
      style={{ top: props.top, gridTemplateColumns: props.template }}
      onClick={props.onClick}
      onFocus={props.onFocus}
      title={`${label} · ${run.id}\n${run.notebook_relpath ?? run.notebook_path ?? ''}`}
    >
      <input
        type="checkbox"
        className="jp-mm-RunRow-check"
        data-testid="mm-run-select"
        aria-label={`Select run ${label} for comparison`}
        tabIndex={-1}
        checked={props.selected}
        onClick={event => event.stopPropagation()}
        onChange={props.onToggle}
      />
      <span
        className={`jp-mm-StatusDot jp-mm-StatusDot-${run.status}`}
        title={statusLabel(run.status)}
        aria-label={statusLabel(run.status)}
      />
      <span className="jp-mm-RunRow-name">
        {/* The column is narrow: the name when there is one (the id is in the tooltip). */}
        {run.name ? (
          <span className="jp-mm-RunRow-label">{run.name}</span>
        ) : (
          <span className="jp-mm-RunRow-id">{shortRunId(run.id)}</span>
        )}
      </span>
      <span className="jp-mm-RunRow-time" title={formatTime(run.start_time)}>
        {formatAge(run.start_time, props.now)}
      </span>
      <span className="jp-mm-RunRow-duration">
        {run.status === 'running' ? 'running' : formatDuration(duration)}
      </span>
      {columns.map(name => (
        <span
          key={name}
          className="jp-mm-RunRow-metric"
          title={`${name} = ${formatMetric(run.metrics[name])}`}
        >
          {formatMetric(run.metrics[name], LIST_DIGITS)}
        </span>
      ))}
      <span>
        {issues > 0 && (
          <span className="jp-mm-Badge jp-mm-Badge-warn" title={issueTitle}>
            {issues}
          </span>
        )}
      </span>
    </div>
  );
}
