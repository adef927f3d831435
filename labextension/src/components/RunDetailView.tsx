/**
 * The run detail page: header, reproducibility warnings, params, metrics with step charts,
 * then the data, environment, execution log and artifact sections (RunDetailSections).
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import { metricChartSpec, metricSeries } from '../charts';
import { Empty, Section, StatusBadge } from './RunDetailCommon';
import { VegaChart } from './VegaChart';
import {
  checkpointSourceLabel,
  EMPTY,
  formatDuration,
  formatMetric,
  formatTime
} from '../format';
import { Artifact, Metric, RunDetail } from '../api/schema';
import {
  ArtifactsSection,
  DataSection,
  EnvironmentSection,
  ExecutionLogSection,
  OutputsSection
} from './RunDetailSections';

/** Step charts drawn before "Show all" is pressed. */
const CHARTS_SHOWN_FIRST = 12;

/** What the page can ask its widget to do. */
export interface IRunDetailActions {
  openNotebook(path: string): void;
  openCheckpoint(): void;
  restoreCheckpoint(): void;
  downloadArtifact(artifact: Artifact): Promise<void>;
}

export interface IRunDetailViewProps {
  detail: RunDetail;
  rendermime: IRenderMimeRegistry;
  actions: IRunDetailActions;
}

function Header(props: IRunDetailViewProps): JSX.Element {
  const { run } = props.detail;
  const duration = run.end_time === null ? null : run.end_time - run.start_time;
  const notebook = run.notebook_relpath ?? run.notebook_path;
  const who = [run.user, run.host].filter(Boolean).join('@');
  const noCheckpoint = run.checkpoint_digest
    ? undefined
    : 'This run has no notebook checkpoint.';
  return (
    <header className="jp-mm-RunDetail-header">
      <h2 className="jp-mm-RunDetail-title">
        {run.name ?? 'Unnamed run'} <StatusBadge status={run.status} />
      </h2>
      <dl className="jp-mm-RunDetail-facts">
        <dt>Run</dt>
        <dd>
          <code>{run.id}</code>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.start_time)}</dd>
        <dt>Duration</dt>
        <dd>
          {run.status === 'running' ? 'running' : formatDuration(duration)}
        </dd>
        <dt>Notebook</dt>
        <dd>
          {run.notebook_relpath ? (
            <button
              type="button"
              className="jp-mm-LinkButton"
              title={`Open ${run.notebook_relpath}`}
              onClick={() => props.actions.openNotebook(run.notebook_relpath!)}
            >
              {run.notebook_relpath}
            </button>
          ) : (
            <span title="Outside the server's root directory">
              {notebook ?? EMPTY}
            </span>
          )}
        </dd>
        {who && (
          <>
            <dt>By</dt>
            <dd>{who}</dd>
          </>
        )}
        <dt>Checkpoint</dt>
        <dd>
          {run.checkpoint_digest
            ? checkpointSourceLabel(run.checkpoint_source)
            : 'none'}
        </dd>
      </dl>
      <div className="jp-mm-RunDetail-actions">
        <button
          type="button"
          className="jp-mm-Button"
          data-testid="mm-open-checkpoint"
          disabled={!run.checkpoint_digest}
          title={
            noCheckpoint ??
            'Show the notebook as it was when this run started (read-only)'
          }
          onClick={props.actions.openCheckpoint}
        >
          Open checkpoint
        </button>
        <button
          type="button"
          className="jp-mm-Button"
          data-testid="mm-restore-checkpoint"
          disabled={!run.checkpoint_digest}
          title={
            noCheckpoint ??
            'Write the checkpoint as a new notebook next to the original'
          }
          onClick={props.actions.restoreCheckpoint}
        >
          Restore as new notebook
        </button>
        {noCheckpoint && <span className="jp-mm-Muted">{noCheckpoint}</span>}
      </div>
    </header>
  );
}

/** Reproducibility flags, capture warnings and the error: shown before anything else. */
function Problems(props: { detail: RunDetail }): JSX.Element | null {
  const { run } = props.detail;
  if (!run.flags.length && !run.warnings.length && !run.error) {
    return null;
  }
  return (
    <div
      className="jp-mm-RunDetail-problems"
      role="region"
      aria-label="Warnings"
    >
      {run.error && (
        <p className="jp-mm-Problem jp-mm-Problem-error">
          <strong>Error:</strong> {run.error}
        </p>
      )}
      {run.flags.map((flag, i) => (
        <p
          key={`flag-${i}`}
          className="jp-mm-Problem jp-mm-Problem-flag"
          data-flag-kind={flag.kind}
        >
          <strong>{flag.kind.replace(/_/g, ' ')}:</strong> {flag.message}
        </p>
      ))}
      {run.warnings.map((warning, i) => (
        <p key={`warning-${i}`} className="jp-mm-Problem jp-mm-Problem-warning">
          {warning}
        </p>
      ))}
    </div>
  );
}

function ParamsSection(props: { detail: RunDetail }): JSX.Element {
  const params = props.detail.params;
  return (
    <Section title="Params" count={params.length}>
      {params.length === 0 ? (
        <Empty>No params were recorded.</Empty>
      ) : (
        <table className="jp-mm-Table">
          <thead>
            <tr>
              <th scope="col">name</th>
              <th scope="col">value</th>
            </tr>
          </thead>
          <tbody>
            {params.map(p => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td>
                  <code>{p.value}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

/** One step chart; without a Vega-Lite renderer the points are listed in a table. */
function MetricChart(props: {
  name: string;
  points: Metric[];
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { name, points, rendermime } = props;
  const spec = React.useMemo(
    () => metricChartSpec(name, points),
    [name, points]
  );
  return (
    <VegaChart
      spec={spec}
      rendermime={rendermime}
      caption={name}
      testid="mm-metric-chart"
      metric={name}
      fallback={
        <table className="jp-mm-Table">
          <thead>
            <tr>
              <th scope="col">step</th>
              <th scope="col">value</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p, i) => (
              <tr key={i}>
                <td>{p.step}</td>
                <td>{formatMetric(p.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    />
  );
}

function MetricsSection(props: {
  detail: RunDetail;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const series = React.useMemo(
    () => metricSeries(props.detail.metrics),
    [props.detail.metrics]
  );
  const names = [...series.keys()].sort();
  const stepped = names.filter(name => series.get(name)!.length > 1);
  // Each chart is a Vega view: draw the first few, the rest on request.
  const [showAll, setShowAll] = React.useState(false);
  const charted = showAll ? stepped : stepped.slice(0, CHARTS_SHOWN_FIRST);
  return (
    <Section title="Metrics" count={names.length}>
      {names.length === 0 ? (
        <Empty>No metrics were recorded.</Empty>
      ) : (
        <table className="jp-mm-Table">
          <thead>
            <tr>
              <th scope="col">name</th>
              <th scope="col">latest</th>
              <th scope="col">steps</th>
            </tr>
          </thead>
          <tbody>
            {names.map(name => {
              const points = series.get(name)!;
              return (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td className="jp-mm-Number">
                    {formatMetric(points[points.length - 1].value)}
                  </td>
                  <td className="jp-mm-Number">{points.length}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {charted.length > 0 && (
        <div className="jp-mm-MetricCharts">
          {charted.map(name => (
            <MetricChart
              key={name}
              name={name}
              points={series.get(name)!}
              rendermime={props.rendermime}
            />
          ))}
        </div>
      )}
      {charted.length < stepped.length && (
        <button
          type="button"
          className="jp-mm-Button jp-mm-MetricCharts-more"
          onClick={() => setShowAll(true)}
        >
          Show all {stepped.length} charts
        </button>
      )}
    </Section>
  );
}

/** The whole detail page of one run. */
export function RunDetailView(props: IRunDetailViewProps): JSX.Element {
  const { detail } = props;
  return (
    <div className="jp-mm-RunDetail-page">
      <Header {...props} />
      <Problems detail={detail} />
      <ParamsSection detail={detail} />
      <MetricsSection detail={detail} rendermime={props.rendermime} />
      <OutputsSection outputs={detail.outputs} rendermime={props.rendermime} />
      <DataSection detail={detail} />
      <ArtifactsSection
        artifacts={detail.artifacts}
        download={props.actions.downloadArtifact}
      />
      <EnvironmentSection environment={detail.environment} />
      <ExecutionLogSection run={detail.run} />
    </div>
  );
}
