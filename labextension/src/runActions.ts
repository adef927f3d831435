/**
 * The main-area actions on runs: open a run's detail, compare two runs, view a run's
 * checkpoint read-only and restore it as a new notebook. The run commands
 * (commands/runs.ts) go through these functions, so each behaves the same wherever it is
 * triggered from (sidebar, palette, run card, the views' own buttons).
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';

import { shortRunId } from './format';
import { PreviewTabs } from './previewTabs';
import { notifyFailure, openDocument } from './shell';
import { CommandIDs, IRunViewDeps } from './tokens';
import { CheckpointViewer } from './widgets/checkpointViewer';
import { IRunDetailCallbacks, RunDetailWidget } from './widgets/runDetail';
import { RunDiffWidget } from './widgets/runDiff';

// -- open views: one preview tab per kind (previewTabs.ts) ----------------------------------

/** Run details, answering to the id asked for and, once loaded, the full id. */
export const runDetailTabs = new PreviewTabs(
  new WidgetTracker<RunDetailWidget>({ namespace: 'jupyter-mm-run' }),
  widget => [widget.runId, widget.requestedId]
);
/** Diffs, keyed by their ordered run pair (as asked for and as resolved). */
export const runDiffTabs = new PreviewTabs(
  new WidgetTracker<RunDiffWidget>({ namespace: 'jupyter-mm-diff' }),
  widget => [pairKey(widget.runA, widget.runB), widget.resolvedIds.join('..')]
);
/** Read-only checkpoints, by full run id. */
export const checkpointTabs = new PreviewTabs(
  new WidgetTracker<CheckpointViewer>({ namespace: 'jupyter-mm-checkpoint' }),
  widget => [widget.runId]
);

function pairKey(a: string, b: string): string {
  return `${a}..${b}`;
}

/**
 * Reopen the detail, diff and checkpoint tabs of the last session when JupyterLab reloads
 * (call once from the plugin that registers the commands, with its layout restorer). The
 * views are stored by full run ids, so `latest` reopens the run it meant, not a newer one;
 * pinned tabs come back pinned.
 */
export function restoreMainAreaViews(restorer: ILayoutRestorer): void {
  void restorer.restore(runDetailTabs.tracker, {
    command: CommandIDs.openRun,
    args: widget => ({
      id: widget.runId,
      pinned: runDetailTabs.isPinned(widget)
    }),
    name: widget => widget.runId
  });
  void restorer.restore(runDiffTabs.tracker, {
    command: CommandIDs.compareRuns,
    args: widget => ({
      a: widget.resolvedIds[0],
      b: widget.resolvedIds[1],
      pinned: runDiffTabs.isPinned(widget)
    }),
    name: widget => widget.resolvedIds.join('..')
  });
  void restorer.restore(checkpointTabs.tracker, {
    command: CommandIDs.openCheckpoint,
    args: widget => ({
      id: widget.runId,
      pinned: checkpointTabs.isPinned(widget)
    }),
    name: widget => widget.runId
  });
}

/** What the buttons of a run's detail do (bound to the run once it is loaded). */
function detailCallbacks(deps: IRunViewDeps): IRunDetailCallbacks {
  return {
    openNotebook: path => void openDocument(deps.app, deps.docManager, path),
    openCheckpoint: runId => void openCheckpoint(deps, runId),
    restoreCheckpoint: runId => void restoreCheckpoint(deps, runId)
  };
}

/**
 * Show the detail of a run (id, unique prefix or `latest`): a tab showing that run is
 * focused, else the preview tab of run details shows it, else a new tab opens.
 */
export async function openRunDetail(
  deps: IRunViewDeps,
  runId: string,
  pinned = false
): Promise<RunDetailWidget> {
  const widget = runDetailTabs.open(
    deps.app,
    runId,
    () =>
      new RunDetailWidget({
        client: deps.client,
        rendermime: deps.rendermime,
        runId,
        callbacks: detailCallbacks(deps)
      }),
    pinned
  );
  // A prefix or `latest` resolves to a run that may already be open: keep only one tab.
  await widget.ready;
  return runDetailTabs.settle(deps.app, widget, widget.runId);
}

/** Show the diff of run `a` (the base) against run `b`, in the diffs' preview tab. */
export async function openRunDiff(
  deps: IRunViewDeps,
  a: string,
  b: string,
  pinned = false
): Promise<RunDiffWidget> {
  const widget = runDiffTabs.open(
    deps.app,
    pairKey(a, b),
    () =>
      new RunDiffWidget({
        client: deps.client,
        rendermime: deps.rendermime,
        runA: a,
        runB: b,
        openRun: id => void openRunDetail(deps, id)
      }),
    pinned
  );
  await widget.ready;
  return runDiffTabs.settle(deps.app, widget, widget.resolvedIds.join('..'));
}

/**
 * Show a run's checkpoint read-only. Nothing is written to disk: the notebook is rendered
 * from memory by nbdime's viewer (see widgets/checkpointViewer.ts), so there is no file a
 * user could edit and save by mistake and nothing to clean up afterwards.
 */
export async function openCheckpoint(
  deps: IRunViewDeps,
  runId: string,
  pinned = false
): Promise<CheckpointViewer | null> {
  try {
    // Resolved first: the viewer is built from the run and its notebook.
    const detail = await deps.client.getRun(runId);
    const notebook = await deps.client.checkpoint(detail.run.id);
    const widget = checkpointTabs.open(
      deps.app,
      detail.run.id,
      () =>
        new CheckpointViewer({
          run: detail.run,
          notebook,
          rendermime: deps.rendermime,
          onRestore: () => void restoreCheckpoint(deps, detail.run.id)
        }),
      pinned
    );
    await widget.ready;
    return widget;
  } catch (error) {
    notifyFailure('The checkpoint could not be opened', error);
    return null;
  }
}

/** Names in a folder of the server's contents, or null when the folder does not exist. */
async function folderNames(
  deps: IRunViewDeps,
  dir: string
): Promise<Set<string> | null> {
  try {
    const listing = await deps.app.serviceManager.contents.get(dir, {
      content: true
    });
    if (listing.type !== 'directory') {
      return null;
    }
    return new Set(
      (listing.content as { name: string }[]).map(item => item.name)
    );
  } catch (error) {
    if ((error as { response?: Response }).response?.status === 404) {
      return null;
    }
    throw error;
  }
}

/** `<stem>.ipynb`, then `<stem>-1.ipynb`, `-2`, … : the first name not in `taken`. */
function freeName(stem: string, taken: Set<string>): string {
  for (let i = 0; ; i++) {
    const name = i === 0 ? `${stem}.ipynb` : `${stem}-${i}.ipynb`;
    if (!taken.has(name)) {
      return name;
    }
  }
}

/**
 * Write the run's checkpoint as a new notebook next to the original one and open it.
 * Never overwrites: the notebook is first created under a fresh untitled name and then
 * renamed, and the server refuses a rename onto an existing file (409), in which case the
 * next free suffix is tried. Returns the path written, or null when it failed (the user has
 * been told why).
 */
export async function restoreCheckpoint(
  deps: IRunViewDeps,
  runId: string
): Promise<string | null> {
  const contents = deps.app.serviceManager.contents;
  try {
    const { run } = await deps.client.getRun(runId);
    const notebook = await deps.client.checkpoint(run.id);
    const relpath = run.notebook_relpath ?? null;
    const original = relpath ?? run.notebook_path ?? 'run.ipynb';
    const stem = `${PathExt.basename(original, '.ipynb')}-${shortRunId(run.id)}`;
    // Outside the server root (relpath null) or in a folder deleted since: use the root.
    let dir = relpath ? PathExt.dirname(relpath) : '';
    let taken = await folderNames(deps, dir);
    if (taken === null) {
      dir = '';
      taken = (await folderNames(deps, dir)) ?? new Set();
    }
    const untitled = await contents.newUntitled({
      path: dir,
      type: 'notebook'
    });
    try {
      await contents.save(untitled.path, {
        type: 'notebook',
        format: 'json',
        content: notebook
      });
      let target = '';
      for (let attempt = 0; attempt < 20 && !target; attempt++) {
        const candidate = PathExt.join(dir, freeName(stem, taken));
        try {
          await contents.rename(untitled.path, candidate);
          target = candidate;
        } catch (error) {
          // Taken since the folder was listed (409): list again, try the next free name.
          if ((error as { response?: Response }).response?.status !== 409) {
            throw error;
          }
          taken = (await folderNames(deps, dir)) ?? new Set();
          taken.add(PathExt.basename(candidate));
        }
      }
      if (!target) {
        throw new Error(`no free name like ${stem}.ipynb was found`);
      }
      await openDocument(deps.app, deps.docManager, target);
      Notification.success(`Restored run ${shortRunId(run.id)} as ${target}.`, {
        autoClose: 5000
      });
      return target;
    } catch (error) {
      // Leave no stray Untitled notebook behind when the restore did not complete.
      await contents.delete(untitled.path).catch(() => undefined);
      throw error;
    }
  } catch (error) {
    notifyFailure('The checkpoint could not be restored', error);
    return null;
  }
}
