/**
 * The Monitoring view of one model version: performance over time (measured from labels,
 * estimated without them) against the production gate's bound, drift per feature with the
 * reference and window histograms, latency, and the alerts with their evidence and the
 * way back to the notebook, data and environment that made the version.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import {
  Alert,
  FeatureDrift,
  MonitoringReport,
  MonitoringTrust,
  PerformanceWindow
} from '../api/schema';
import { EMPTY, formatMetric, formatTime, ignoredRowsText } from '../format';
import {
  breaches,
  histogramRows,
  histogramSpec,
  thresholdFor,
  timelineMetrics,
  timelinePoints,
  timelineSpec
} from '../monitoringCharts';
import { VegaChart } from './VegaChart';

export interface IMonitoringActions {
  /** the version's lineage: run, checkpoint, data digests, environment */
  lineage: (version: number) => void;
  /** the notebook checkpoint of the version's run */
  checkpoint: (version: number) => void;
  openRun: (id: string) => void;
}

function Section(props: {
  title: string;
  testid: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className="jp-mm-Section" data-testid={props.testid}>
      <h3 className="jp-mm-Section-title">{props.title}</h3>
      {props.children}
    </section>
  );
}

/** The value a rule sees for `metric`: measured when the window had labels, else estimated. */
function headlineValue(
  report: MonitoringReport,
  metric: string
): number | null {
  const measured = report.metrics[metric];
  if (typeof measured === 'number') {
    return measured;
  }
  const estimated = report.metrics[`estimated_${metric}`];
  return typeof estimated === 'number' ? estimated : null;
}

function Summary(props: { report: MonitoringReport }): JSX.Element {
  const { report } = props;
  const metric = timelineMetrics(report)[0] ?? null;
  const value = metric ? headlineValue(report, metric) : null;
  const threshold = metric ? thresholdFor(report, metric) : null;
  const estimated =
    metric !== null &&
    typeof report.metrics[metric] !== 'number' &&
    value !== null;
  const tiles: [string, string, boolean][] = [
    ['predictions', String(report.window.rows), false],
    ['labelled', formatMetric(report.metrics.labelled ?? null), false]
  ];
  if (metric) {
    tiles.push([
      estimated ? `${metric} (estimated)` : metric,
      formatMetric(value),
      threshold !== null && value !== null && breaches(threshold, value)
    ]);
  }
  tiles.push(
    [
      'drifted features',
      `${report.drift.drifted} / ${report.drift.total}`,
      report.drift.drifted > 0
    ],
    ['p99 latency', msOrEmpty(report.latency.p99_ms), false],
    ['error rate', percentOrEmpty(report.latency.error_rate), false]
  );
  return (
    <div
      className="jp-mm-MonitoringSummary"
      data-testid="mm-monitoring-summary"
    >
      {tiles.map(([label, text, bad]) => (
        <div
          key={label}
          className={`jp-mm-MonitoringTile${bad ? ' jp-mm-MonitoringTile-bad' : ''}`}
          data-label={label}
        >
          <span className="jp-mm-MonitoringTile-value">{text}</span>
          <span className="jp-mm-MonitoringTile-label">{label}</span>
        </div>
      ))}
    </div>
  );
}

function msOrEmpty(value: number | null): string {
  return value === null ? EMPTY : `${formatMetric(value)} ms`;
}

function percentOrEmpty(value: number | null): string {
  return value === null ? EMPTY : `${(value * 100).toFixed(2)} %`;
}

function TimelineTable(props: {
  windows: PerformanceWindow[];
  metric: string;
}): JSX.Element {
  return (
    <table className="jp-mm-Table">
      <thead>
        <tr>
          <th scope="col">window end</th>
          <th scope="col">rows</th>
          <th scope="col">labelled</th>
          <th scope="col">{props.metric}</th>
        </tr>
      </thead>
      <tbody>
        {timelinePoints(props.windows, props.metric).map(point => (
          <tr key={point.window}>
            <td>{formatTime(point.time / 1000)}</td>
            <td>{props.windows[point.window]?.rows ?? EMPTY}</td>
            <td>{props.windows[point.window]?.labelled ?? EMPTY}</td>
            <td>
              {formatMetric(point.value)}
              {point.source === 'estimated' ? ' (estimated)' : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Performance(props: {
  report: MonitoringReport;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { report, rendermime } = props;
  const metrics = timelineMetrics(report);
  const [chosen, setChosen] = React.useState<string | null>(null);
  const metric =
    chosen && metrics.includes(chosen) ? chosen : (metrics[0] ?? null);
  const spec = React.useMemo(
    () =>
      metric
        ? timelineSpec(
            metric,
            timelinePoints(report.performance, metric),
            thresholdFor(report, metric)
          )
        : null,
    [report, metric]
  );
  if (!metric || !spec) {
    return (
      <p className="jp-mm-Empty">
        No performance yet: the window has no labels and the model gives no
        scores to estimate from.
      </p>
    );
  }
  const threshold = thresholdFor(report, metric);
  return (
    <>
      <label className="jp-mm-MonitoringMetric">
        Metric{' '}
        <select
          value={metric}
          onChange={event => setChosen(event.currentTarget.value)}
          data-testid="mm-monitoring-metric"
        >
          {metrics.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      {threshold && (
        <span className="jp-mm-MonitoringBound">
          {threshold.source}: {metric} {threshold.op} {threshold.value}
        </span>
      )}
      <VegaChart
        spec={spec}
        rendermime={rendermime}
        caption={`${metric} per window (solid: measured, dashed: estimated)`}
        testid="mm-monitoring-timeline"
        fallback={
          <TimelineTable windows={report.performance} metric={metric} />
        }
      />
    </>
  );
}

function HistogramTable(props: { drift: FeatureDrift }): JSX.Element {
  const rows = histogramRows(props.drift);
  const bins = rows.filter(row => row.side === 'reference');
  return (
    <table className="jp-mm-Table">
      <thead>
        <tr>
          <th scope="col">bin</th>
          <th scope="col">reference</th>
          <th scope="col">window</th>
        </tr>
      </thead>
      <tbody>
        {bins.map(bin => (
          <tr key={bin.order}>
            <td>{bin.bin}</td>
            <td>{formatMetric(bin.share)}</td>
            <td>{formatMetric(rows[bin.order * 2 + 1].share)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DriftRow(props: {
  drift: FeatureDrift;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { drift, rendermime } = props;
  const [open, setOpen] = React.useState(false);
  const spec = React.useMemo(() => histogramSpec(drift), [drift]);
  return (
    <>
      <tr
        className={
          drift.drifted
            ? 'jp-mm-DriftRow jp-mm-DriftRow-drifted'
            : 'jp-mm-DriftRow'
        }
        data-feature={drift.feature}
        data-drifted={drift.drifted ? 'true' : 'false'}
      >
        <td>
          <button
            className="jp-mm-LinkButton"
            aria-expanded={open}
            title="Show the reference and window distributions"
            onClick={() => setOpen(!open)}
          >
            {open ? '▾' : '▸'} {drift.feature}
          </button>
        </td>
        <td>{drift.kind}</td>
        <td>{drift.method}</td>
        <td className="jp-mm-Number">{formatMetric(drift.value)}</td>
        <td
          className="jp-mm-Number"
          title={`threshold ${drift.threshold_source}`}
        >
          {formatMetric(drift.threshold)}
        </td>
        <td>
          {drift.drifted ? (
            <span className="jp-mm-Badge jp-mm-Badge-warn">drifted</span>
          ) : (
            'no'
          )}
        </td>
        <td className="jp-mm-Number">
          {percentOrEmpty(drift.missing_reference)} →{' '}
          {percentOrEmpty(drift.missing_current)}
        </td>
      </tr>
      {open && (
        <tr className="jp-mm-DriftHistogram">
          <td colSpan={7}>
            <VegaChart
              spec={spec}
              rendermime={rendermime}
              caption={`${drift.feature}: reference vs window`}
              testid="mm-monitoring-histogram"
              fallback={<HistogramTable drift={drift} />}
            />
          </td>
        </tr>
      )}
    </>
  );
}

function Drift(props: {
  report: MonitoringReport;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { drift } = props.report;
  const rows = drift.prediction
    ? [...drift.features, drift.prediction]
    : drift.features;
  return (
    <>
      <p>
        {drift.drifted} of {drift.total} features drifted (share{' '}
        {formatMetric(drift.drift_share)}); effect sizes against thresholds
        calibrated on the reference unless configured.
      </p>
      <table className="jp-mm-Table jp-mm-DriftTable">
        <thead>
          <tr>
            <th scope="col">feature</th>
            <th scope="col">kind</th>
            <th scope="col">method</th>
            <th scope="col">effect</th>
            <th scope="col">threshold</th>
            <th scope="col">drifted</th>
            <th scope="col">missing</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(feature => (
            <DriftRow
              key={feature.feature}
              drift={feature}
              rendermime={props.rendermime}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Evidence values that name a run (the retrain run, the run a version came from). */
function evidenceRunIds(evidence: Record<string, any>): [string, string][] {
  return Object.entries(evidence).filter(
    (entry): entry is [string, string] =>
      /run(_id)?$/.test(entry[0]) && typeof entry[1] === 'string'
  );
}

function AlertItem(props: {
  alert: Alert;
  actions: IMonitoringActions;
}): JSX.Element {
  const { alert, actions } = props;
  const version = alert.version;
  return (
    <li
      className="jp-mm-Alert"
      data-state={alert.state}
      data-alert-id={alert.id}
    >
      <div className="jp-mm-Alert-head">
        <span
          className={`jp-mm-Badge ${alert.state === 'open' ? 'jp-mm-Badge-warn' : ''}`}
        >
          {alert.state}
        </span>{' '}
        <span>{formatTime(alert.time)}</span> <code>{alert.rule ?? EMPTY}</code>
      </div>
      {alert.summary && <p>{alert.summary}</p>}
      <details>
        <summary>Evidence</summary>
        <pre className="jp-mm-Evidence">
          {JSON.stringify(alert.evidence, null, 2)}
        </pre>
      </details>
      <div className="jp-mm-Alert-actions">
        {version !== null && (
          <>
            <button
              className="jp-mm-Button"
              onClick={() => actions.checkpoint(version)}
            >
              Checkpoint of v{version}
            </button>
            <button
              className="jp-mm-Button"
              onClick={() => actions.lineage(version)}
            >
              Data and environment of v{version}
            </button>
          </>
        )}
        {evidenceRunIds(alert.evidence).map(([key, id]) => (
          <button
            key={key}
            className="jp-mm-Button"
            onClick={() => actions.openRun(id)}
          >
            Open {key.replace(/_/g, ' ')}
          </button>
        ))}
      </div>
    </li>
  );
}

export function MonitoringView(props: {
  report: MonitoringReport;
  alerts: Alert[];
  rendermime: IRenderMimeRegistry;
  actions: IMonitoringActions;
}): JSX.Element {
  const { report, alerts, rendermime, actions } = props;
  const { window } = report;
  return (
    <div className="jp-mm-MonitoringView">
      <header className="jp-mm-MonitoringHeader">
        <h2>
          {report.model} v{report.version}
        </h2>
        <span>
          {window.rows} predictions
          {window.start_time !== null &&
            ` from ${formatTime(window.start_time)} to ${formatTime(window.end_time)}`}
          ; reference: {report.profile.rows} rows, {report.profile.features}{' '}
          features ({report.profile.source})
        </span>{' '}
        <button
          className="jp-mm-LinkButton"
          onClick={() => actions.lineage(report.version)}
        >
          lineage
        </button>
      </header>
      <Summary report={report} />
      <IgnoredRows trust={report.trust} />
      {window.rows === 0 && (
        <p className="jp-mm-Empty">
          No predictions were logged in this window: serve the model with{' '}
          <code>jupyter mm serve</code> or log them with{' '}
          <code>mm.log_predictions</code>.
        </p>
      )}
      <Section title="Performance" testid="mm-monitoring-performance">
        <Performance report={report} rendermime={rendermime} />
      </Section>
      <Section title="Drift" testid="mm-monitoring-drift">
        <Drift report={report} rendermime={rendermime} />
      </Section>
      <Section title="Latency" testid="mm-monitoring-latency">
        <p>
          {report.latency.requests} served requests; p50{' '}
          {msOrEmpty(report.latency.p50_ms)}, p95{' '}
          {msOrEmpty(report.latency.p95_ms)}, p99{' '}
          {msOrEmpty(report.latency.p99_ms)}; error rate{' '}
          {percentOrEmpty(report.latency.error_rate)}
        </p>
      </Section>
      <Section title="Alerts" testid="mm-monitoring-alerts">
        {alerts.length === 0 ? (
          <p className="jp-mm-Empty">No alerts for this model.</p>
        ) : (
          <ul className="jp-mm-AlertList">
            {alerts.map(alert => (
              <AlertItem key={alert.id} alert={alert} actions={actions} />
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

/**
 * On a team store the report uses only trusted writers' rows: say what it left out, and
 * whose, so forged labels or predictions are visible rather than silently dropped.
 */
function IgnoredRows(props: { trust: MonitoringTrust }): JSX.Element | null {
  const ignored = ignoredRowsText(props.trust);
  if (ignored === null) {
    return null;
  }
  return (
    <p className="jp-mm-Warning" data-testid="mm-monitoring-ignored">
      Ignored {ignored}: not writers this model's monitoring trusts (
      <code>c.Monitor.trusted_writers</code>).
    </p>
  );
}
