/**
 * The upper part of the diff view: which runs are compared, the ignore-outputs toggle,
 * warnings, then the changed params, metrics, data digests and packages. The notebook diff
 * below it is nbdime's own widget (widgets/runDiff.tsx).
 */
import * as React from 'react';

import {
  Digest,
  Empty,
  relativeToNotebook,
  Section,
  StatusBadge
} from './RunDetailCommon';
import { EMPTY, formatMetric, formatTime, shortRunId } from '../format';
import {
  DataChange,
  MetricChange,
  PackageChange,
  ParamChange,
  Run,
  RunDiff
} from '../api/schema';

/** What every row of the diff's tables carries. */
interface IChangeRow {
  name: string;
  change: string;
}

const CHANGE_MARK: Record<string, string> = {
  added: '+',
  removed: '−',
  changed: '~',
  same: ''
};

function ChangeCell(props: { change: string }): JSX.Element {
  return (
    <td
      className={`jp-mm-Change jp-mm-Change-${props.change}`}
      title={props.change}
      aria-label={props.change}
    >
      {CHANGE_MARK[props.change] ?? props.change}
    </td>
  );
}

function RunLabel(props: {
  label: string;
  run: Run;
  onOpen: (id: string) => void;
}): JSX.Element {
  const { run } = props;
  return (
    <div className="jp-mm-RunDiff-run" data-side={props.label}>
      <span className="jp-mm-RunDiff-side">{props.label}</span>
      <button
        type="button"
        className="jp-mm-LinkButton"
        title={`Open run ${run.id}`}
        onClick={() => props.onOpen(run.id)}
      >
        {run.name ?? 'Unnamed run'}
      </button>
      <code title={run.id}>{shortRunId(run.id)}</code>
      <StatusBadge status={run.status} />
      <span className="jp-mm-Muted">{formatTime(run.start_time)}</span>
    </div>
  );
}

/** A table of the rows that differ, and how many are the same. */
function ChangeTable<R extends IChangeRow>(props: {
  title: string;
  rows: R[];
  columns: string[];
  cells: (row: R) => React.ReactNode[];
  rowKey?: (row: R) => string;
  emptyText: string;
}): JSX.Element {
  const changed = props.rows.filter(r => r.change !== 'same');
  const same = props.rows.length - changed.length;
  return (
    <Section title={props.title} count={changed.length}>
      {changed.length === 0 ? (
        <Empty>
          {props.rows.length === 0
            ? props.emptyText
            : `No differences (${same} the same).`}
        </Empty>
      ) : (
        <>
          <table className="jp-mm-Table jp-mm-DiffTable">
            <thead>
              <tr>
                <th scope="col">
                  <span className="jp-mm-VisuallyHidden">change</span>
                </th>
                {props.columns.map(c => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {changed.map(row => (
                <tr
                  key={props.rowKey ? props.rowKey(row) : row.name}
                  className={`jp-mm-DiffRow jp-mm-DiffRow-${row.change}`}
                >
                  <ChangeCell change={row.change} />
                  {props.cells(row).map((cell, i) => (
                    <td key={i}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {same > 0 && <p className="jp-mm-Muted">{same} the same.</p>}
        </>
      )}
    </Section>
  );
}

/**
 * Whether a smaller value of the metric is the better one. Runs do not record a metric's
 * direction, so this goes by the usual names (loss, error, rmse, latency, ...); the arrow
 * always shows the direction, the colour only says better or worse.
 */
export function lowerIsBetter(name: string): boolean {
  return /loss|err|mse|mae|mape|perplexity|latency|duration|time|cost|regret/i.test(
    name
  );
}

function Delta(props: {
  name: string;
  value: MetricChange['delta'];
}): JSX.Element {
  const value = props.value;
  if (typeof value !== 'number' || value === 0) {
    return <span>{formatMetric(value ?? null)}</span>;
  }
  const up = value > 0;
  const better = up !== lowerIsBetter(props.name);
  return (
    <span
      className={`jp-mm-Delta ${better ? 'jp-mm-Delta-better' : 'jp-mm-Delta-worse'}`}
      title={`B is ${up ? 'higher' : 'lower'} (${better ? 'better' : 'worse'} for ${props.name})`}
    >
      {up ? '▲ +' : '▼ '}
      {formatMetric(value)}
    </span>
  );
}

function Value(props: { value: unknown }): JSX.Element {
  if (props.value === null || props.value === undefined) {
    return <span className="jp-mm-Muted">{EMPTY}</span>;
  }
  return <code>{String(props.value)}</code>;
}

/** A run's name, or its short id when both runs share the name (runs of one cell do). */
function sideName(run: Run, diff: RunDiff): string {
  return run.name && diff.a.name !== diff.b.name
    ? run.name
    : shortRunId(run.id);
}

export interface IRunDiffTablesProps {
  diff: RunDiff;
  ignoreOutputs: boolean;
  loading: boolean;
  onIgnoreOutputs: (ignore: boolean) => void;
  onOpenRun: (id: string) => void;
}

export function RunDiffTables(props: IRunDiffTablesProps): JSX.Element {
  const { diff } = props;
  return (
    <div className="jp-mm-RunDiff-page">
      <header className="jp-mm-RunDiff-header">
        <h2 className="jp-mm-RunDiff-title">
          {sideName(diff.a, diff)} <span className="jp-mm-Muted">vs</span>{' '}
          {sideName(diff.b, diff)}
        </h2>
        <RunLabel label="A" run={diff.a} onOpen={props.onOpenRun} />
        <RunLabel label="B" run={diff.b} onOpen={props.onOpenRun} />
        <label className="jp-mm-Toggle">
          <input
            type="checkbox"
            data-testid="mm-ignore-outputs"
            checked={props.ignoreOutputs}
            disabled={props.loading}
            onChange={event => props.onIgnoreOutputs(event.target.checked)}
          />
          Ignore outputs
        </label>
        {props.loading && <span className="jp-mm-Loading">Updating…</span>}
      </header>
      {diff.warnings.length > 0 && (
        <div
          className="jp-mm-RunDetail-problems"
          role="region"
          aria-label="Warnings"
        >
          {diff.warnings.map((warning, i) => (
            <p key={i} className="jp-mm-Problem jp-mm-Problem-warning">
              {warning}
            </p>
          ))}
        </div>
      )}
      <ChangeTable<ParamChange>
        title="Params"
        rows={diff.params}
        columns={['name', 'A', 'B']}
        cells={row => [
          row.name,
          <Value value={row.a} />,
          <Value value={row.b} />
        ]}
        emptyText="Neither run has params."
      />
      <ChangeTable<MetricChange>
        title="Metrics"
        rows={diff.metrics}
        columns={['name', 'A', 'B', 'delta']}
        cells={row => [
          row.name,
          formatMetric(row.a),
          formatMetric(row.b),
          <Delta name={row.name} value={row.delta} />
        ]}
        emptyText="Neither run has metrics."
      />
      <ChangeTable<DataChange>
        title="Data"
        rows={diff.data}
        columns={['role', 'name', 'A', 'B']}
        rowKey={row => `${row.role}:${row.name}`}
        cells={row => [
          row.role,
          <span className="jp-mm-Path" title={row.name}>
            {row.kind === 'object'
              ? row.name
              : relativeToNotebook(
                  row.name,
                  diff.b.notebook_path ?? diff.a.notebook_path
                )}
          </span>,
          <Digest digest={row.a} />,
          <Digest digest={row.b} />
        ]}
        emptyText="Neither run recorded data."
      />
      <ChangeTable<PackageChange>
        title="Packages"
        rows={diff.packages}
        columns={['package', 'A', 'B']}
        cells={row => [
          row.name,
          <Value value={row.a} />,
          <Value value={row.b} />
        ]}
        emptyText="Same packages in both environments."
      />
      <h3 className="jp-mm-Section-title">
        Notebook{diff.ignore_outputs ? ' (outputs ignored)' : ''}
        {diff.notebook.diff.length === 0 && (
          <span className="jp-mm-Muted"> — no changes</span>
        )}
      </h3>
    </div>
  );
}
