/**
 * The run card: how JupyterLab shows the `application/vnd.jupyter-mm.run+json` output of a
 * tracked cell — status, duration, key metrics, params, warnings, data counts and a button
 * that opens the run in the sidebar.
 *
 * MIME renderers are created without the application, so the button and the "a run was
 * shown" notice travel as DOM events on `document`, which the sidebar plugin listens for.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import * as React from 'react';

import type { CheckpointSource, MetricValue, RunStatus } from '../api/schema';
import {
  checkpointSourceLabel,
  formatDuration,
  formatMetric,
  shortRunId,
  statusLabel
} from '../format';
import { DOMEvents, IRunNotice, RUN_MIME_TYPE } from '../tokens';

/** Metrics shown on the card; the sidebar and the detail view show all of them. */
const CARD_METRICS = 4;
/** Params listed before "+N more". */
const CARD_PARAMS = 6;

/** The card payload written by `jupyter_mm.comm.run_bundle` in the kernel. */
export interface IRunCardPayload {
  run_id: string;
  name: string | null;
  status: RunStatus | string;
  duration: number | null;
  notebook: string | null;
  cell_id: string | null;
  checkpoint_source: CheckpointSource | string;
  params: { [name: string]: string };
  metrics: { [name: string]: MetricValue };
  data: { inputs: number; outputs: number };
  flags: { kind: string; message: string }[];
  warnings: string[];
  error: string | null;
  store: string | null;
}

/** Read the bundle defensively: an output saved by another version must not break the view. */
export function parseCardPayload(data: unknown): IRunCardPayload | null {
  if (!data || typeof data !== 'object') {
    return null;
  }
  const raw = data as Partial<IRunCardPayload>;
  if (typeof raw.run_id !== 'string') {
    return null;
  }
  return {
    run_id: raw.run_id,
    name: typeof raw.name === 'string' ? raw.name : null,
    status: typeof raw.status === 'string' ? raw.status : 'finished',
    duration: typeof raw.duration === 'number' ? raw.duration : null,
    notebook: typeof raw.notebook === 'string' ? raw.notebook : null,
    cell_id: typeof raw.cell_id === 'string' ? raw.cell_id : null,
    checkpoint_source:
      typeof raw.checkpoint_source === 'string'
        ? raw.checkpoint_source
        : 'none',
    params: raw.params && typeof raw.params === 'object' ? raw.params : {},
    metrics: raw.metrics && typeof raw.metrics === 'object' ? raw.metrics : {},
    data: {
      inputs: Number(raw.data?.inputs ?? 0),
      outputs: Number(raw.data?.outputs ?? 0)
    },
    flags: Array.isArray(raw.flags) ? raw.flags : [],
    warnings: Array.isArray(raw.warnings) ? raw.warnings : [],
    error: typeof raw.error === 'string' ? raw.error : null,
    store: typeof raw.store === 'string' ? raw.store : null
  };
}

export function RunCard(props: { payload: IRunCardPayload }): JSX.Element {
  const run = props.payload;
  const metrics = Object.entries(run.metrics);
  const params = Object.entries(run.params);
  const issues = run.flags.length + run.warnings.length;
  const open = (): void => {
    document.dispatchEvent(
      new CustomEvent(DOMEvents.openRun, { detail: { id: run.run_id } })
    );
  };
  return (
    <div
      className={`jp-mm-RunCard jp-mm-RunCard-${run.status}`}
      data-run-id={run.run_id}
      role="group"
      aria-label={`jupyter-mm run ${run.name ?? shortRunId(run.run_id)}`}
    >
      <div className="jp-mm-RunCard-head">
        <span
          className={`jp-mm-StatusDot jp-mm-StatusDot-${run.status}`}
          title={statusLabel(run.status)}
        />
        <span className="jp-mm-RunCard-title">
          {run.name && <strong>{run.name}</strong>}
          <code className="jp-mm-RunCard-id" title={run.run_id}>
            {shortRunId(run.run_id)}
          </code>
        </span>
        <span className="jp-mm-RunCard-status">
          {run.status} in {formatDuration(run.duration)}
        </span>
        {issues > 0 && (
          <span
            className="jp-mm-Badge jp-mm-Badge-warn"
            title="Reproducibility flags and warnings"
          >
            {issues}
          </span>
        )}
        <button
          type="button"
          className="jp-mm-Button jp-mm-RunCard-open"
          data-testid="mm-card-open"
          onClick={open}
        >
          Open in sidebar
        </button>
      </div>
      {metrics.length > 0 && (
        <div className="jp-mm-RunCard-metrics">
          {metrics.slice(0, CARD_METRICS).map(([name, value]) => (
            <span key={name} className="jp-mm-RunCard-metric">
              <span className="jp-mm-RunCard-metricName">{name}</span>
              <span className="jp-mm-RunCard-metricValue">
                {formatMetric(value)}
              </span>
            </span>
          ))}
          {metrics.length > CARD_METRICS && (
            <span className="jp-mm-Muted">
              +{metrics.length - CARD_METRICS} more
            </span>
          )}
        </div>
      )}
      <div className="jp-mm-RunCard-facts">
        {params.length > 0 && (
          <span title={params.map(([k, v]) => `${k} = ${v}`).join('\n')}>
            params:{' '}
            {params
              .slice(0, CARD_PARAMS)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}
            {params.length > CARD_PARAMS
              ? ` +${params.length - CARD_PARAMS} more`
              : ''}
          </span>
        )}
        <span>
          data: {run.data.inputs} in, {run.data.outputs} out
        </span>
        <span>checkpoint: {checkpointSourceLabel(run.checkpoint_source)}</span>
      </div>
      {run.error && <div className="jp-mm-RunCard-error">{run.error}</div>}
      {issues > 0 && (
        <ul className="jp-mm-RunCard-warnings">
          {run.flags.map((flag, index) => (
            <li key={`f${index}`}>{flag.message}</li>
          ))}
          {run.warnings.map((warning, index) => (
            <li key={`w${index}`}>{warning}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The MIME renderer JupyterLab instantiates for each run card output. */
export class RunCardRenderer
  extends ReactWidget
  implements IRenderMime.IRenderer
{
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-mm-RunCardOutput');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._payload = parseCardPayload(model.data[this._mimeType]);
    this.update();
    if (this._payload) {
      // Seeing a card means a run was (probably just) recorded: let the sidebar catch up.
      const detail: IRunNotice = {
        runId: this._payload.run_id,
        status: this._payload.status
      };
      document.dispatchEvent(new CustomEvent(DOMEvents.runShown, { detail }));
    }
  }

  protected render(): JSX.Element {
    if (!this._payload) {
      return (
        <div className="jp-mm-Error">
          This jupyter-mm run output is not in a format this version
          understands.
        </div>
      );
    }
    return <RunCard payload={this._payload} />;
  }

  private _mimeType: string;
  private _payload: IRunCardPayload | null = null;
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_MIME_TYPE],
  createRenderer: options => new RunCardRenderer(options)
};
