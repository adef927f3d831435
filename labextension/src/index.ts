/**
 * The jupyter-mm plugins: the server connection check, live notebook snapshots for
 * `%%track` cells, and the runs sidebar with its commands. Every JupyterLab service except
 * the application itself is optional, so the extension degrades instead of failing in a
 * trimmed-down JupyterLab (no palette, no document manager, ...).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import {
  openCheckpoint,
  openRunDetail,
  openRunDiff,
  restoreCheckpoint,
  restoreMainAreaViews
} from './actions';
import { fetchServerInfo, MMClient } from './api/client';
import { errorMessage } from './format';
import { LiveSnapshotChannel } from './liveSnapshot';
import {
  IRegistryDeps,
  isTargetStage,
  openLineage,
  openModel,
  promoteVersion,
  registerArtifact,
  RegistryState,
  restoreRegistryViews,
  rollbackModel
} from './registryActions';
import { IRunsListState, RunsListModel } from './model';
import {
  CommandIDs,
  CONNECTION_PLUGIN_ID,
  DOMEvents,
  ILiveRuns,
  IMMDeps,
  IRunNotice,
  LIVE_SNAPSHOT_PLUGIN_ID,
  MODELS_PANEL_ID,
  SIDEBAR_ID,
  SIDEBAR_PLUGIN_ID
} from './tokens';
import { ModelsPanel } from './widgets/models';
import { RunsSidebar } from './widgets/sidebar';

/** Command palette category of every jupyter-mm command. */
const PALETTE_CATEGORY = 'Model management';
/** Left-area rank: after the file browser (100), before running sessions (200). */
const SIDEBAR_RANK = 150;
/** The Models panel sits right below the runs sidebar. */
const MODELS_PANEL_RANK = 151;
/** IStateDB key of the sidebar's filters and metric columns. */
const STATE_KEY = `${SIDEBAR_PLUGIN_ID}:state`;

/**
 * Checks at start-up that the jupyter-mm server extension answers, and reports which store
 * it reads. A missing or failing server extension is logged, never thrown: the rest of
 * JupyterLab must keep working without it.
 */
const connectionPlugin: JupyterFrontEndPlugin<void> = {
  id: CONNECTION_PLUGIN_ID,
  description: 'Connects JupyterLab to the jupyter-mm server extension.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    // Logged so that a user (and tests/server/test_lab_loads_extension.py) can see the
    // extension is installed even when its server side is missing.
    console.log(`${CONNECTION_PLUGIN_ID} is activated`);
    void app.started
      .then(() => fetchServerInfo(app.serviceManager.serverSettings))
      .then(info => {
        console.log(
          `jupyter-mm ${info.version}: store ${info.store} (schema ${info.schema_version})`
        );
      })
      .catch(reason => {
        console.warn(
          `jupyter-mm: the server extension did not answer: ${reason}`
        );
      });
  }
};

/** Sends each notebook's live content to its kernel before a `%%track` cell runs. */
const liveSnapshotPlugin: JupyterFrontEndPlugin<ILiveRuns> = {
  id: LIVE_SNAPSHOT_PLUGIN_ID,
  description:
    'Sends the live notebook (unsaved edits included) to the kernel for %%track.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: ILiveRuns,
  activate: (_: JupyterFrontEnd, tracker: INotebookTracker): ILiveRuns => {
    return new LiveSnapshotChannel(tracker);
  }
};

/** Arguments of the run commands, read defensively (they may come from the palette). */
function stringArg(
  args: ReadonlyPartialJSONObject,
  name: string
): string | null {
  const value = args[name];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function numberArg(
  args: ReadonlyPartialJSONObject,
  name: string
): number | null {
  const value = Number(args[name]);
  return Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * The Models panel and the registry commands. Registry writes go through
 * `registryActions.ts`; the server decides whether this user may write
 * (`jupyter_mm:registry`), so a read-only user sees the same buttons and a 403 sentence.
 */
function activateRegistry(
  app: JupyterFrontEnd,
  client: MMClient,
  restorer: ILayoutRestorer | null
): void {
  const { commands } = app;
  const deps: IRegistryDeps = {
    app,
    client,
    state: new RegistryState(),
    openRun: id => void commands.execute(CommandIDs.openRun, { id }),
    openCheckpoint: id =>
      void commands.execute(CommandIDs.openCheckpoint, { id })
  };
  const panel = new ModelsPanel(
    deps,
    name => void commands.execute(CommandIDs.openModel, { name })
  );
  app.shell.add(panel, 'left', { rank: MODELS_PANEL_RANK });
  restorer?.add(panel, MODELS_PANEL_ID);
  if (restorer) {
    restoreRegistryViews(restorer);
  }
  void app.restored.then(() => panel.reload());

  // The run detail's Register buttons cannot reach the app: they ask through a DOM event.
  document.addEventListener(DOMEvents.registerArtifact, event => {
    const detail = (
      event as CustomEvent<{ run_id?: string; artifact?: string }>
    ).detail;
    if (detail?.run_id && detail.artifact) {
      void commands.execute(CommandIDs.registerModel, { ...detail });
    }
  });

  commands.addCommand(CommandIDs.openModels, {
    label: 'Show Models',
    caption: 'Show the registered models',
    execute: () => app.shell.activateById(MODELS_PANEL_ID)
  });
  commands.addCommand(CommandIDs.openModel, {
    label: args => `Open Model ${stringArg(args, 'name') ?? ''}`.trim(),
    isEnabled: args => !!stringArg(args, 'name'),
    execute: args => {
      const name = stringArg(args, 'name');
      if (name) {
        openModel(deps, name);
      }
    }
  });
  commands.addCommand(CommandIDs.registerModel, {
    label: 'Register Artifact as Model Version…',
    isEnabled: args =>
      !!stringArg(args, 'run_id') && !!stringArg(args, 'artifact'),
    execute: async args => {
      const runId = stringArg(args, 'run_id');
      const artifact = stringArg(args, 'artifact');
      if (!runId || !artifact) {
        return null;
      }
      const version = await registerArtifact(deps, runId, artifact);
      if (version) {
        app.shell.activateById(MODELS_PANEL_ID);
        openModel(deps, version.model);
      }
      return version;
    }
  });
  commands.addCommand(CommandIDs.promoteVersion, {
    label: args =>
      `Move Model Version to ${stringArg(args, 'stage') ?? 'a Stage'}…`,
    isEnabled: args =>
      !!stringArg(args, 'name') &&
      !!numberArg(args, 'version') &&
      isTargetStage(stringArg(args, 'stage')),
    execute: args => {
      const name = stringArg(args, 'name');
      const version = numberArg(args, 'version');
      const stage = stringArg(args, 'stage');
      return name && version && isTargetStage(stage)
        ? promoteVersion(deps, name, version, stage)
        : null;
    }
  });
  commands.addCommand(CommandIDs.rollbackModel, {
    label: 'Roll Back Production…',
    isEnabled: args => !!stringArg(args, 'name'),
    execute: args => {
      const name = stringArg(args, 'name');
      return name ? rollbackModel(deps, name) : null;
    }
  });
  commands.addCommand(CommandIDs.openLineage, {
    label: 'Open Model Version Lineage',
    isEnabled: args =>
      !!stringArg(args, 'name') && !!numberArg(args, 'version'),
    execute: args => {
      const name = stringArg(args, 'name');
      const version = numberArg(args, 'version');
      if (name && version) {
        openLineage(deps, name, version);
      }
    }
  });
}

/** The runs sidebar and the commands acting on runs. */
const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: SIDEBAR_PLUGIN_ID,
  description:
    'Lists tracked runs in the left sidebar; opens details and diffs.',
  autoStart: true,
  optional: [
    INotebookTracker,
    ICommandPalette,
    IDocumentManager,
    IRenderMimeRegistry,
    ILayoutRestorer,
    IStateDB,
    ILiveRuns
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null,
    rendermime: IRenderMimeRegistry | null,
    restorer: ILayoutRestorer | null,
    stateDB: IStateDB | null,
    liveRuns: ILiveRuns | null
  ): void => {
    const client = new MMClient(app.serviceManager.serverSettings);
    const deps: IMMDeps | null = rendermime
      ? { client, rendermime, docManager }
      : null;
    const model = new RunsListModel(client);

    /** Run an action that needs the main-area dependencies, or say why it cannot. */
    const withDeps = (
      what: string,
      action: (deps: IMMDeps) => Promise<unknown>
    ): void => {
      if (!deps) {
        Notification.error(
          `${what} needs JupyterLab's render-mime registry, which is missing.`
        );
        return;
      }
      action(deps).catch(error => {
        Notification.error(`${what} failed: ${errorMessage(error)}`, {
          autoClose: 8000
        });
      });
    };

    /** The selected runs as (older, newer), so a diff reads from the earlier run. */
    const selectedPair = (): [string, string] | null => {
      const ids = model.selection;
      if (ids.length !== 2) {
        return null;
      }
      const [first, second] = ids.map(id =>
        model.runs.find(run => run.id === id)
      );
      if (first && second && first.start_time > second.start_time) {
        return [ids[1], ids[0]];
      }
      return [ids[0], ids[1]];
    };

    const sidebar = new RunsSidebar({
      model,
      openRun: id => void app.commands.execute(CommandIDs.openRun, { id }),
      compare: () => void app.commands.execute(CommandIDs.compareRuns, {})
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(sidebar, SIDEBAR_ID);

    // "This notebook" follows the notebook in focus, and its renames.
    let watched: NotebookPanel | null = null;
    const onPathChanged = (): void =>
      model.setNotebookPath(watched?.context.path ?? null);
    const follow = (panel: NotebookPanel | null): void => {
      watched?.context.pathChanged.disconnect(onPathChanged);
      watched = panel;
      watched?.context.pathChanged.connect(onPathChanged);
      onPathChanged();
    };
    if (tracker) {
      tracker.currentChanged.connect((_, panel) => follow(panel));
      follow(tracker.currentWidget);
    }

    // Remember the scope, status filter and metric columns across sessions.
    let savedState = '';
    const save = (): void => {
      const state = JSON.stringify(model.state);
      if (stateDB && state !== savedState) {
        savedState = state;
        void stateDB.save(STATE_KEY, model.state as any).catch(() => undefined);
      }
    };
    const restored = stateDB
      ? stateDB
          .fetch(STATE_KEY)
          .then(value => {
            model.restoreState(value as Partial<IRunsListState> | undefined);
            savedState = JSON.stringify(model.state);
          })
          .catch(() => undefined)
      : Promise.resolve();
    if (!tracker) {
      // Without notebooks (a trimmed-down app) "this notebook" could never show anything.
      void restored.then(() => model.restoreState({ scope: 'all' }));
    }
    void Promise.all([restored, app.restored]).then(() => {
      model.changed.connect(save);
      void model.reload();
    });

    // A recorded run (kernel notice) or a rendered card refreshes the list.
    liveRuns?.runRecorded.connect(() => void model.refresh());
    document.addEventListener(DOMEvents.runShown, event => {
      const notice = (event as CustomEvent<IRunNotice>).detail;
      if (notice && !model.isListed(notice.runId, notice.status)) {
        void model.refresh();
      }
    });
    document.addEventListener(DOMEvents.openRun, event => {
      const id = (event as CustomEvent<{ id?: string }>).detail?.id;
      if (typeof id === 'string') {
        app.shell.activateById(SIDEBAR_ID);
        void app.commands.execute(CommandIDs.openRun, { id });
      }
    });

    const { commands } = app;
    commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show Runs Sidebar',
      caption: 'Show the list of tracked runs',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Runs',
      execute: () => model.refresh()
    });
    commands.addCommand(CommandIDs.toggleScope, {
      label: 'Show Runs of All Notebooks',
      caption:
        'Toggle the runs list between the current notebook and all notebooks',
      isToggled: () => model.scope === 'all',
      execute: () => model.toggleScope()
    });
    commands.addCommand(CommandIDs.openRun, {
      label: args => (stringArg(args, 'id') ? 'Open Run' : 'Open Selected Run'),
      caption: 'Open the detail of a run in the main area',
      isEnabled: args => !!stringArg(args, 'id') || model.selection.length > 0,
      execute: args => {
        const id =
          stringArg(args, 'id') ?? model.selection[model.selection.length - 1];
        if (!id) {
          return;
        }
        if (model.selection.length !== 1 || model.selection[0] !== id) {
          model.select(id);
        }
        withDeps('Opening the run', deps => openRunDetail(app, deps, id));
      }
    });
    commands.addCommand(CommandIDs.compareRuns, {
      label: 'Compare Selected Runs',
      caption:
        'Diff the checkpoints, params, metrics, data and packages of two runs',
      isEnabled: args =>
        (!!stringArg(args, 'a') && !!stringArg(args, 'b')) ||
        model.selection.length === 2,
      execute: args => {
        const a = stringArg(args, 'a');
        const b = stringArg(args, 'b');
        const pair: [string, string] | null = a && b ? [a, b] : selectedPair();
        if (!pair) {
          Notification.info(
            'Select two runs in the runs sidebar to compare them.'
          );
          return;
        }
        withDeps('Comparing the runs', deps =>
          openRunDiff(app, deps, pair[0], pair[1])
        );
      }
    });
    const checkpointCommand = (
      id: string,
      label: string,
      action: typeof openCheckpoint | typeof restoreCheckpoint,
      what: string
    ): void => {
      commands.addCommand(id, {
        label,
        isEnabled: args =>
          !!stringArg(args, 'id') || model.selection.length > 0,
        execute: args => {
          const runId =
            stringArg(args, 'id') ??
            model.selection[model.selection.length - 1];
          if (runId) {
            withDeps(what, deps => action(app, deps, runId));
          }
        }
      });
    };
    checkpointCommand(
      CommandIDs.openCheckpoint,
      "Open Run's Checkpoint (read-only)",
      openCheckpoint,
      'Opening the checkpoint'
    );
    checkpointCommand(
      CommandIDs.restoreCheckpoint,
      "Restore Run's Checkpoint as a New Notebook",
      restoreCheckpoint,
      'Restoring the checkpoint'
    );

    activateRegistry(app, client, restorer);

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }
    // Detail, diff and checkpoint tabs come back after a page reload, like documents do.
    if (restorer) {
      restoreMainAreaViews(restorer);
    }
  }
};

const plugins: JupyterFrontEndPlugin<any>[] = [
  connectionPlugin,
  liveSnapshotPlugin,
  sidebarPlugin
];

export default plugins;
