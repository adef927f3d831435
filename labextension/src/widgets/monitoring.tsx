/**
 * The Monitoring view of one model (main area): the report of `GET
 * /models/{name}/monitoring` for a chosen window, and the model's alerts. It refreshes
 * itself while visible, since predictions and labels keep arriving from serving processes
 * and notebooks the page knows nothing about.
 */
import {
  MainAreaWidget,
  ReactWidget,
  ToolbarButton
} from '@jupyterlab/apputils';
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IMonitoringParams, MMClient } from '../api/client';
import { Alert, MonitoringReport } from '../api/schema';
import { MonitoringView } from '../components/MonitoringView';
import { errorMessage } from '../format';
import { notifyFailure } from '../shell';
import { CommandIDs } from '../tokens';
import { modelsIcon } from './models';

/** While the view is visible it reloads this often: predictions arrive all the time. */
export const MONITORING_REFRESH_MS = 30_000;

/** The windows offered above the report; the first is the default. */
export const WINDOW_CHOICES: { label: string; params: IMonitoringParams }[] = [
  { label: 'last 1 000 predictions', params: { window: 1000 } },
  { label: 'last 10 000 predictions', params: { window: 10_000 } },
  { label: 'last 100 000 predictions', params: { window: 100_000 } },
  { label: 'last hour', params: { since: '1h' } },
  { label: 'last day', params: { since: '24h' } },
  { label: 'last 7 days', params: { since: '7d' } }
];

export interface IMonitoringDeps {
  app: JupyterFrontEnd;
  client: MMClient;
  rendermime: IRenderMimeRegistry;
}

class MonitoringContent extends ReactWidget {
  constructor(
    private readonly _deps: IMonitoringDeps,
    readonly modelName: string
  ) {
    super();
    this.addClass('jp-mm-Monitoring');
    this.node.dataset.model = modelName;
    this.node.dataset.testid = 'mm-monitoring';
  }

  /** Index into WINDOW_CHOICES. */
  choice = 0;

  async reload(): Promise<void> {
    const { client } = this._deps;
    const params = WINDOW_CHOICES[this.choice].params;
    try {
      const [report, alerts] = await Promise.all([
        client.monitoring(this.modelName, params),
        client.modelAlerts(this.modelName)
      ]);
      this._report = report;
      this._alerts = alerts;
      this._error = null;
    } catch (error) {
      this._error = `The monitoring report of "${this.modelName}" could not be made: ${errorMessage(error)}`;
    }
    this.update();
  }

  private async _openCheckpoint(version: number): Promise<void> {
    const { app, client } = this._deps;
    try {
      const lineage = await client.lineage(this.modelName, version);
      await app.commands.execute(CommandIDs.openCheckpoint, {
        id: lineage.run.id
      });
    } catch (error) {
      notifyFailure(
        `The checkpoint of version ${version} could not be opened`,
        error
      );
    }
  }

  protected render(): JSX.Element {
    const { app, rendermime } = this._deps;
    const name = this.modelName;
    const picker = (
      <label className="jp-mm-MonitoringWindow">
        Window{' '}
        <select
          value={this.choice}
          data-testid="mm-monitoring-window"
          onChange={event => {
            this.choice = Number(event.currentTarget.value);
            void this.reload();
          }}
        >
          {WINDOW_CHOICES.map((choice, i) => (
            <option key={choice.label} value={i}>
              {choice.label}
            </option>
          ))}
        </select>
      </label>
    );
    if (this._error) {
      return (
        <>
          {picker}
          <p className="jp-mm-Error">{this._error}</p>
        </>
      );
    }
    if (!this._report) {
      return (
        <p className="jp-mm-Empty">Loading the monitoring report of {name}…</p>
      );
    }
    return (
      <>
        {picker}
        <MonitoringView
          report={this._report}
          alerts={this._alerts}
          rendermime={rendermime}
          actions={{
            lineage: version =>
              void app.commands.execute(CommandIDs.openLineage, {
                name,
                version
              }),
            checkpoint: version => void this._openCheckpoint(version),
            openRun: id => void app.commands.execute(CommandIDs.openRun, { id })
          }}
        />
      </>
    );
  }

  private _report: MonitoringReport | null = null;
  private _alerts: Alert[] = [];
  private _error: string | null = null;
}

let nextWidgetId = 0;

/** Main-area Monitoring view of one model. */
export class MonitoringWidget extends MainAreaWidget<MonitoringContent> {
  constructor(deps: IMonitoringDeps, name: string) {
    const content = new MonitoringContent(deps, name);
    super({ content });
    this.id = `jupyter-mm-monitoring-${nextWidgetId++}`;
    this.title.label = `Monitoring ${name}`;
    this.title.icon = modelsIcon;
    this.title.closable = true;
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Make the report again',
        onClick: () => void content.reload()
      })
    );
    this._timer = window.setInterval(() => {
      if (this.isVisible) {
        void content.reload();
      }
    }, MONITORING_REFRESH_MS);
    void content.reload();
  }

  get modelName(): string {
    return this.content.modelName;
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  private _timer: number;
}
