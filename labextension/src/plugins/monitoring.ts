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
import { WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { MMClient } from '../api/client';
import { stringArg } from '../commands/common';
import { PreviewTabs } from '../previewTabs';
import { CommandIDs, MONITORING_PLUGIN_ID } from '../tokens';
import { IMonitoringDeps, MonitoringWidget } from '../widgets/monitoring';

/** One preview tab for monitoring views, like the other kinds of view (previewTabs.ts). */
const monitoringTabs = new PreviewTabs(
  new WidgetTracker<MonitoringWidget>({ namespace: 'jupyter-mm-monitoring' }),
  widget => [widget.modelName]
);

export const monitoringPlugin: JupyterFrontEndPlugin<void> = {
  id: MONITORING_PLUGIN_ID,
  description: 'Drift, live performance, latency and alerts of a model.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null
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
        if (!name) {
          return null;
        }
        return monitoringTabs.open(
          app,
          name,
          () => new MonitoringWidget(deps, name),
          args.pinned === true
        );
      }
    });
    void restorer?.restore(monitoringTabs.tracker, {
      command: CommandIDs.openMonitoring,
      args: widget => ({
        name: widget.modelName,
        pinned: monitoringTabs.isPinned(widget)
      }),
      name: widget => widget.modelName
    });
  }
};
