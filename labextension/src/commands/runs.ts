/**
 * The run commands: the runs sidebar's own (show, refresh, scope) and those opening run
 * views (detail, diff, checkpoint, restore). Without an explicit run id they act on the
 * sidebar's selection.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { RunsListModel } from '../model';
import {
  openCheckpoint,
  openRunDetail,
  openRunDiff,
  restoreCheckpoint
} from '../runActions';
import { notifyFailure } from '../shell';
import { CommandIDs, IRunViewDeps, SIDEBAR_ID } from '../tokens';
import { pinnedArg, stringArg } from './common';

/** Show the sidebar, refresh it, switch between this notebook and all notebooks. */
export function addSidebarCommands(
  app: JupyterFrontEnd,
  model: RunsListModel
): string[] {
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
  return [CommandIDs.openSidebar, CommandIDs.refresh, CommandIDs.toggleScope];
}

/** The selected runs as (older, newer), so a diff reads from the earlier run. */
function selectedPair(model: RunsListModel): [string, string] | null {
  const ids = model.selection;
  if (ids.length !== 2) {
    return null;
  }
  const [first, second] = ids.map(id => model.runs.find(run => run.id === id));
  if (first && second && first.start_time > second.start_time) {
    return [ids[1], ids[0]];
  }
  return [ids[0], ids[1]];
}

/** The run a command means: its `id` argument, else the latest selected run. */
function targetRun(
  args: ReadonlyPartialJSONObject,
  model: RunsListModel
): string | null {
  const selection = model.selection;
  return stringArg(args, 'id') ?? selection[selection.length - 1] ?? null;
}

/** Run an action that needs the main-area dependencies, or say why it cannot. */
type WithDeps = (
  what: string,
  action: (deps: IRunViewDeps) => Promise<unknown>
) => void;

function withDepsOf(deps: IRunViewDeps | null): WithDeps {
  return (what, action) => {
    if (!deps) {
      Notification.error(
        `${what} needs JupyterLab's render-mime registry, which is missing.`
      );
      return;
    }
    action(deps).catch(error => notifyFailure(`${what} failed`, error));
  };
}

/** Open a run's detail: the `id` argument, else the latest selected run. */
function addOpenRunCommand(
  app: JupyterFrontEnd,
  model: RunsListModel,
  withDeps: WithDeps
): void {
  app.commands.addCommand(CommandIDs.openRun, {
    label: args => (stringArg(args, 'id') ? 'Open Run' : 'Open Selected Run'),
    caption: 'Open the detail of a run in the main area',
    isEnabled: args => targetRun(args, model) !== null,
    execute: args => {
      const id = targetRun(args, model);
      if (!id) {
        return;
      }
      if (model.selection.length !== 1 || model.selection[0] !== id) {
        model.select(id);
      }
      withDeps('Opening the run', deps =>
        openRunDetail(deps, id, pinnedArg(args))
      );
    }
  });
}

/** Diff run `a` against run `b`, else the two selected runs (older one first). */
function addCompareCommand(
  app: JupyterFrontEnd,
  model: RunsListModel,
  withDeps: WithDeps
): void {
  app.commands.addCommand(CommandIDs.compareRuns, {
    label: 'Compare Selected Runs',
    caption:
      'Diff the checkpoints, params, metrics, data and packages of two runs',
    isEnabled: args =>
      (!!stringArg(args, 'a') && !!stringArg(args, 'b')) ||
      model.selection.length === 2,
    execute: args => {
      const a = stringArg(args, 'a');
      const b = stringArg(args, 'b');
      const pair = a && b ? [a, b] : selectedPair(model);
      if (!pair) {
        Notification.info(
          'Select two runs in the runs sidebar to compare them.'
        );
        return;
      }
      withDeps('Comparing the runs', deps =>
        openRunDiff(deps, pair[0], pair[1], pinnedArg(args))
      );
    }
  });
}

/** Open a run's checkpoint read-only, or restore it as a new notebook. */
function addCheckpointCommands(
  app: JupyterFrontEnd,
  model: RunsListModel,
  withDeps: WithDeps
): void {
  const add = (
    id: string,
    label: string,
    action: (
      deps: IRunViewDeps,
      runId: string,
      pinned: boolean
    ) => Promise<unknown>,
    what: string
  ): void => {
    app.commands.addCommand(id, {
      label,
      isEnabled: args => targetRun(args, model) !== null,
      execute: args => {
        const runId = targetRun(args, model);
        if (runId) {
          withDeps(what, deps => action(deps, runId, pinnedArg(args)));
        }
      }
    });
  };
  add(
    CommandIDs.openCheckpoint,
    "Open Run's Checkpoint (read-only)",
    openCheckpoint,
    'Opening the checkpoint'
  );
  add(
    CommandIDs.restoreCheckpoint,
    "Restore Run's Checkpoint as a New Notebook",
    restoreCheckpoint,
    'Restoring the checkpoint'
  );
}

/**
 * Open a run's detail, compare two runs, open or restore a run's checkpoint. `deps` is
 * null when JupyterLab has no render-mime registry: the commands then say so instead of
 * failing.
 */
export function addRunViewCommands(
  app: JupyterFrontEnd,
  model: RunsListModel,
  deps: IRunViewDeps | null
): string[] {
  const withDeps = withDepsOf(deps);
  addOpenRunCommand(app, model, withDeps);
  addCompareCommand(app, model, withDeps);
  addCheckpointCommands(app, model, withDeps);
  return [
    CommandIDs.openRun,
    CommandIDs.compareRuns,
    CommandIDs.openCheckpoint,
    CommandIDs.restoreCheckpoint
  ];
}
