/**
 * The model registry in the lab: the Models panel (below the runs sidebar), the model and
 * lineage views, and the registry commands. A run detail's "Register" button reaches the
 * register command through a DOM event (it is rendered without the application).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { MMClient } from '../api/client';
import { addToPalette } from '../commands/common';
import { addRegistryCommands } from '../commands/registry';
import { pinOnDoubleClick } from '../previewTabs';
import { RegistryState } from '../registryState';
import { pollRegistryChanges } from '../registryPoll';
import { modelTabs, restoreRegistryViews } from '../registryViews';
import { listenOnDocument } from '../shell';
import {
  CommandIDs,
  DOMEvents,
  IRegistryDeps,
  MODELS_PANEL_ID,
  REGISTRY_PLUGIN_ID
} from '../tokens';
import { ModelsPanel } from '../widgets/models';

/** The Models panel sits right below the runs sidebar (rank 150). */
const MODELS_PANEL_RANK = 151;

export const registryPlugin: JupyterFrontEndPlugin<void> = {
  id: REGISTRY_PLUGIN_ID,
  description: 'Lists registered models and moves versions between stages.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const deps: IRegistryDeps = {
      app,
      client: new MMClient(app.serviceManager.serverSettings),
      state: new RegistryState()
    };
    const panel = new ModelsPanel(deps);
    app.shell.add(panel, 'left', { rank: MODELS_PANEL_RANK });
    restorer?.add(panel, MODELS_PANEL_ID);
    void app.restored.then(() => panel.reload());
    // Changes made from the CLI or by another user show up while a registry view is seen.
    pollRegistryChanges(
      deps.client,
      deps.state,
      () => panel.isVisible || !!modelTabs.tracker.find(view => view.isVisible)
    );

    addToPalette(palette, addRegistryCommands(deps));
    pinOnDoubleClick();
    if (restorer) {
      restoreRegistryViews(restorer);
    }
    listenOnDocument<{ model: string }>(DOMEvents.registryChanged, detail =>
      deps.state.notify(detail?.model ?? null)
    );
    listenOnDocument<{ run_id: string; artifact: string }>(
      DOMEvents.registerArtifact,
      detail => {
        if (detail?.run_id && detail.artifact) {
          void app.commands.execute(CommandIDs.registerModel, { ...detail });
        }
      }
    );
  }
};
