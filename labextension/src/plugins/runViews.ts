/**
 * The run views of the main area: a run's detail, the diff of two runs and a run's
 * read-only checkpoint, with the commands that open them (on an explicit run or on the
 * sidebar's selection) and their tabs restored after a page reload.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { addToPalette } from '../commands/common';
import { addRunViewCommands } from '../commands/runs';
import { RunsListModel } from '../model';
import { pinOnDoubleClick } from '../previewTabs';
import { restoreMainAreaViews } from '../runActions';
import { IRunsListModel, IRunViewDeps, RUN_VIEWS_PLUGIN_ID } from '../tokens';

export const runViewsPlugin: JupyterFrontEndPlugin<void> = {
  id: RUN_VIEWS_PLUGIN_ID,
  description: 'Opens run details, run diffs and read-only checkpoints.',
  autoStart: true,
  requires: [IRunsListModel],
  optional: [
    IRenderMimeRegistry,
    IDocumentManager,
    ILayoutRestorer,
    ICommandPalette
  ],
  activate: (
    app: JupyterFrontEnd,
    model: RunsListModel,
    rendermime: IRenderMimeRegistry | null,
    docManager: IDocumentManager | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const deps: IRunViewDeps | null = rendermime
      ? { app, client: model.client, rendermime, docManager }
      : null;
    addToPalette(palette, addRunViewCommands(app, model, deps));
    pinOnDoubleClick();
    // Detail, diff and checkpoint tabs come back after a page reload, like documents do.
    if (restorer) {
      restoreMainAreaViews(restorer);
    }
  }
};
