/** One run of the runs list: a grid row of status, name, age, duration, metrics, issues. */
import * as React from 'react';

import type { RunSummary } from '../../api/schema';
import {
  formatAge,
  formatDuration,
  formatMetric,
  formatTime,
  shortRunId,
  statusLabel
} from '../../format';
import { IColumnLayout, splitName } from './columns';

/** Significant digits of metric values in the narrow columns (the tooltip has them all). */
const LIST_DIGITS = 4;

export interface IRunRowProps {
  run: RunSummary;
  top: number;
  layout: IColumnLayout;
  columns: readonly string[];
  /** Another listed run has this run's name: show the short id beside it. */
  nameShared: boolean;
  selected: boolean;
  focusable: boolean;
  now: number;
  onClick: (event: React.MouseEvent) => void;
  onToggle: () => void;
  onFocus: () => void;
}

export function RunRow(props: IRunRowProps): JSX.Element {
  const { run, columns, layout } = props;
  const issues = run.flag_count + run.warning_count;
  const duration = run.end_time === null ? null : run.end_time - run.start_time;
  const label = run.name ?? shortRunId(run.id);
  const age = formatAge(run.start_time, props.now);
  const took = run.status === 'running' ? 'running' : formatDuration(duration);
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
      data-user={run.user ?? ''}
      role="option"
      aria-selected={props.selected}
      tabIndex={props.focusable ? 0 : -1}
      style={{
        top: props.top,
        gridTemplateColumns: layout.template,
        minWidth: layout.minWidth
      }}
      onClick={props.onClick}
      onFocus={props.onFocus}
      title={`${label} · ${run.id}${run.user ? ` · by ${run.user}` : ''}\nstarted ${age} ago · took ${took}\n${run.notebook_relpath ?? run.notebook_path ?? ''}`}
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
        {/* The name ellipsizes first; a shared name keeps its id visible after it. */}
        {run.name && <NameLabel name={run.name} />}
        {(!run.name || props.nameShared) && (
          <span className="jp-mm-RunRow-id">{shortRunId(run.id)}</span>
        )}
      </span>
      {layout.showAge && (
        <span className="jp-mm-RunRow-time" title={formatTime(run.start_time)}>
          {age}
        </span>
      )}
      {layout.showTook && <span className="jp-mm-RunRow-duration">{took}</span>}
      {columns.map(name => (
        <span
          key={name}
          className="jp-mm-RunRow-metric"
          title={`${name} = ${formatMetric(run.metrics[name])}`}
        >
          {formatMetric(run.metrics[name], LIST_DIGITS)}
        </span>
      ))}
      <span className="jp-mm-RunRow-badge">
        {issues > 0 && (
          <span className="jp-mm-Badge jp-mm-Badge-warn" title={issueTitle}>
            {issues > 99 ? '99+' : issues}
          </span>
        )}
      </span>
    </div>
  );
}

/** The run's name, cut in the middle when the column is too narrow (see splitName). */
function NameLabel(props: { name: string }): JSX.Element {
  // one line: breaks and tabs in a name show as one space (the tooltip has it as stored)
  const { head, tail } = splitName(props.name.replace(/\s+/g, ' '));
  return (
    <span className="jp-mm-RunRow-label">
      <span className="jp-mm-RunRow-head">{head}</span>
      {tail && <span className="jp-mm-RunRow-tail">{tail}</span>}
    </span>
  );
}
