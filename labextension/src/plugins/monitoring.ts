/**
 * The Monitoring view: `jupyter-mm:open-monitoring` opens (or focuses) the view of one
 * model, from the model view's "Monitoring" button or the palette; views come back after a
 * page reload like the registry's.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { MMClient } from '../api/client';
import { stringArg } from '../commands/common';
import { reveal } from '../shell';
import { CommandIDs, MONITORING_PLUGIN_ID } from '../tokens';
import { IMonitoringDeps, MonitoringWidget } from '../widgets/monitoring';

const tracker = new WidgetTracker<MonitoringWidget>({
  namespace: 'jupyter-mm-monitoring'
});

function openMonitoring(deps: IMonitoringDeps, name: string): MonitoringWidget {
  const existing = tracker.find(widget => widget.modelName === name);
  if (existing) {
    reveal(deps.app, existing);
    return existing;
  }
  const widget = new MonitoringWidget(deps, name);
  void tracker.add(widget);
  reveal(deps.app, widget);
  return widget;
}

export const monitoringPlugin: JupyterFrontEndPlugin<void> = {
  id: MONITORING_PLUGIN_ID,
  description: 'Drift, live performance, latency and alerts of a model.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const deps: IMonitoringDeps = {
      app,
      client: new MMClient(app.serviceManager.serverSettings),
      rendermime
    };
    app.commands.addCommand(CommandIDs.openMonitoring, {
      label: args => `Open Monitoring ${stringArg(args, 'name') ?? ''}`.trim(),
      caption: 'Drift, performance, latency and alerts of a model',
      isEnabled: args => !!stringArg(args, 'name'),
      execute: args => {
        const name = stringArg(args, 'name');
        return name ? openMonitoring(deps, name) : null;
      }
    });
    void palette; // the command needs a model name: it is reached from the model view
    void restorer?.restore(tracker, {
      command: CommandIDs.openMonitoring,
      args: widget => ({ name: widget.modelName }),
      name: widget => widget.modelName
    });
  }
};
