/**
 * The runs sidebar: the list of tracked runs in the left area, following the notebook in
 * focus, remembering its filters, and refreshed when a kernel reports a run or a run card
 * is shown. Provides its list (`IRunsListModel`), whose selection the run commands use.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';

import { MMClient } from '../api/client';
import { addToPalette } from '../commands/common';
import { addSidebarCommands } from '../commands/runs';
import { IRunsListState, RunsListModel } from '../model';
import { listenOnDocument } from '../shell';
import {
  CommandIDs,
  DOMEvents,
  ILiveRuns,
  IRunNotice,
  IRunsListModel,
  SIDEBAR_ID,
  SIDEBAR_PLUGIN_ID
} from '../tokens';
import { RunsSidebar } from '../widgets/sidebar';

/** Left-area rank: after the file browser (100), before running sessions (200). */
const SIDEBAR_RANK = 150;
/** IStateDB key of the sidebar's filters and metric columns. */
const STATE_KEY = `${SIDEBAR_PLUGIN_ID}:state`;

/** "This notebook" follows the notebook in focus, and its renames. */
function followCurrentNotebook(
  tracker: INotebookTracker,
  model: RunsListModel
): void {
  let watched: NotebookPanel | null = null;
  const onPathChanged = (): void =>
    model.setNotebookPath(watched?.context.path ?? null);
  const follow = (panel: NotebookPanel | null): void => {
    watched?.context.pathChanged.disconnect(onPathChanged);
    watched = panel;
    watched?.context.pathChanged.connect(onPathChanged);
    onPathChanged();
  };
  tracker.currentChanged.connect((_, panel) => follow(panel));
  follow(tracker.currentWidget);
}

/**
 * Restore the scope, status filter and metric columns of the last session, then save them
 * whenever they change. Resolves once the remembered state is applied.
 */
async function rememberState(
  stateDB: IStateDB | null,
  model: RunsListModel
): Promise<void> {
  if (!stateDB) {
    return;
  }
  let saved = '';
  try {
    const value = await stateDB.fetch(STATE_KEY);
    model.restoreState(value as Partial<IRunsListState> | undefined);
    saved = JSON.stringify(model.state);
  } catch {
    // an unreadable state starts from the defaults
  }
  model.changed.connect(() => {
    const state = JSON.stringify(model.state);
    if (state !== saved) {
      saved = state;
      void stateDB.save(STATE_KEY, model.state as any).catch(() => undefined);
    }
  });
}

/** A recorded run (kernel notice) or a rendered run card refreshes the list. */
function refreshOnRunNotices(
  app: JupyterFrontEnd,
  model: RunsListModel,
  liveRuns: ILiveRuns | null
): void {
  liveRuns?.runRecorded.connect(() => void model.refresh());
  listenOnDocument<IRunNotice>(DOMEvents.runShown, notice => {
    if (notice?.runId && !model.isListed(notice.runId, notice.status)) {
      void model.refresh();
    }
  });
  // The card's "Open in sidebar": show the sidebar with the run open.
  listenOnDocument<{ id: string }>(DOMEvents.openRun, detail => {
    if (typeof detail?.id === 'string') {
      app.shell.activateById(SIDEBAR_ID);
      void app.commands.execute(CommandIDs.openRun, { id: detail.id });
    }
  });
}

export const runsSidebarPlugin: JupyterFrontEndPlugin<RunsListModel> = {
  id: SIDEBAR_PLUGIN_ID,
  description: 'Lists tracked runs in the left sidebar.',
  autoStart: true,
  provides: IRunsListModel,
  optional: [
    INotebookTracker,
    ICommandPalette,
    ILayoutRestorer,
    IStateDB,
    ILiveRuns
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    stateDB: IStateDB | null,
    liveRuns: ILiveRuns | null
  ): RunsListModel => {
    const model = new RunsListModel(
      new MMClient(app.serviceManager.serverSettings)
    );
    const sidebar = new RunsSidebar({
      model,
      openRun: id => void app.commands.execute(CommandIDs.openRun, { id }),
      compare: () => void app.commands.execute(CommandIDs.compareRuns, {})
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(sidebar, SIDEBAR_ID);

    if (tracker) {
      followCurrentNotebook(tracker, model);
    }
    const restored = rememberState(stateDB, model).then(() => {
      if (!tracker) {
        // Without notebooks (a trimmed-down app) "this notebook" could never show anything.
        model.restoreState({ scope: 'all' });
      }
    });
    void Promise.all([restored, app.restored]).then(() => model.reload());
    refreshOnRunNotices(app, model, liveRuns);
    addToPalette(palette, addSidebarCommands(app, model));
    return model;
  }
};
