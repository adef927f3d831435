/**
 * The main-area actions of jupyter-mm: open a run's detail, compare two runs, view a run's
 * checkpoint read-only and restore it as a new notebook. Commands (index.ts), the sidebar
 * and the run card all go through these functions so that each behaves the same wherever
 * it is triggered from.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { MMApiError, MMClient } from './api/client';
import { errorMessage, shortRunId } from './format';
import { CommandIDs, IMMDeps } from './tokens';
import { CheckpointViewer } from './widgets/checkpointViewer';
import { RunDetailWidget } from './widgets/runDetail';
import { RunDiffWidget } from './widgets/runDiff';

/** What the actions need: the plugin's shared dependencies (tokens.ts). */
export type IActionDeps = IMMDeps;

/**
 * Download an artifact. The request goes through `ServerConnection.makeRequest` so that it
 * carries the same authentication as every JupyterLab request (Authorization header,
 * XSRF cookie) instead of a token in the URL, which would end up in browser history and
 * server logs. The body becomes a Blob handed to the browser as a file download.
 */
export async function downloadArtifact(
  client: MMClient,
  runId: string,
  name: string
): Promise<void> {
  const settings = client.serverSettings;
  const response = await ServerConnection.makeRequest(
    client.artifactUrl(runId, name),
    {},
    settings
  );
  if (!response.ok) {
    let message = `The artifact "${name}" could not be downloaded (${response.status}).`;
    try {
      message = (await response.json()).error?.message ?? message;
    } catch {
      // not JSON: keep the generic sentence
    }
    throw new MMApiError(response.status, message);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = PathExt.basename(name);
  anchor.style.display = 'none';
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  // Revoke later: revoking at once can cancel the download in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// -- open widgets, one per run (pair) ---------------------------------------------------------

/** Open run details, so that asking twice for the same run focuses the existing tab. */
export const runDetailTracker = new WidgetTracker<RunDetailWidget>({
  namespace: 'jupyter-mm-run'
});
/** Open diffs, keyed by their ordered run pair. */
export const runDiffTracker = new WidgetTracker<RunDiffWidget>({
  namespace: 'jupyter-mm-diff'
});
/** Open read-only checkpoints. */
export const checkpointTracker = new WidgetTracker<CheckpointViewer>({
  namespace: 'jupyter-mm-checkpoint'
});

/**
 * Reopen the detail, diff and checkpoint tabs of the last session when JupyterLab reloads
 * (call once from the plugin that registers the commands, with its layout restorer). The
 * views are stored by full run ids, so `latest` reopens the run it meant, not a newer one.
 */
export function restoreMainAreaViews(restorer: ILayoutRestorer): void {
  void restorer.restore(runDetailTracker, {
    command: CommandIDs.openRun,
    args: widget => ({ id: widget.runId }),
    name: widget => widget.runId
  });
  void restorer.restore(runDiffTracker, {
    command: CommandIDs.compareRuns,
    args: widget => ({ a: widget.resolvedIds[0], b: widget.resolvedIds[1] }),
    name: widget => widget.resolvedIds.join('..')
  });
  void restorer.restore(checkpointTracker, {
    command: CommandIDs.openCheckpoint,
    args: widget => ({ id: widget.runId }),
    name: widget => widget.runId
  });
}

function reveal(app: JupyterFrontEnd, widget: Widget): void {
  if (!widget.isAttached) {
    app.shell.add(widget, 'main');
  }
  app.shell.activateById(widget.id);
}

/**
 * Open a file of the server's contents as a document (or focus it when already open),
 * through the document manager when the plugin has one, else through its command.
 */
export async function openDocument(
  app: JupyterFrontEnd,
  deps: IActionDeps,
  path: string
): Promise<void> {
  if (deps.docManager) {
    deps.docManager.openOrReveal(path);
    return;
  }
  await app.commands.execute('docmanager:open', { path });
}

function notifyFailure(what: string, error: unknown): void {
  Notification.error(`${what}: ${errorMessage(error)}`, { autoClose: 8000 });
}

/**
 * Open the detail of a run in the main area (id, unique prefix or `latest`). A detail
 * already open for that run is focused instead of opening a second one.
 */
export async function openRunDetail(
  app: JupyterFrontEnd,
  deps: IActionDeps,
  runId: string
): Promise<RunDetailWidget> {
  const existing = runDetailTracker.find(
    w => w.runId === runId || w.requestedId === runId
  );
  if (existing) {
    reveal(app, existing);
    return existing;
  }
  const widget = new RunDetailWidget({
    app,
    deps,
    runId
  });
  void runDetailTracker.add(widget);
  reveal(app, widget);
  // A prefix or `latest` resolves to a run that may already be open: keep only one tab.
  void widget.ready.then(() => {
    const twin = runDetailTracker.find(
      w => w !== widget && w.runId === widget.runId
    );
    if (twin) {
      widget.dispose();
      reveal(app, twin);
    } else {
      void runDetailTracker.save(widget);
    }
  });
  return widget;
}

/** Open (or focus) the diff of run `a` (the base) against run `b`. */
export async function openRunDiff(
  app: JupyterFrontEnd,
  deps: IActionDeps,
  a: string,
  b: string
): Promise<RunDiffWidget> {
  const existing = runDiffTracker.find(
    w =>
      (w.runA === a && w.runB === b) ||
      (w.resolvedIds[0] === a && w.resolvedIds[1] === b)
  );
  if (existing) {
    reveal(app, existing);
    return existing;
  }
  const widget = new RunDiffWidget({
    app,
    deps,
    runA: a,
    runB: b
  });
  void runDiffTracker.add(widget);
  reveal(app, widget);
  void widget.ready.then(() => runDiffTracker.save(widget));
  return widget;
}

/**
 * Show a run's checkpoint read-only. Nothing is written to disk: the notebook is rendered
 * from memory by nbdime's viewer (see widgets/checkpointViewer.ts), so there is no file a
 * user could edit and save by mistake and nothing to clean up afterwards.
 */
export async function openCheckpoint(
  app: JupyterFrontEnd,
  deps: IActionDeps,
  runId: string
): Promise<CheckpointViewer | null> {
  const existing = checkpointTracker.find(w => w.runId === runId);
  if (existing) {
    reveal(app, existing);
    return existing;
  }
  try {
    const detail = await deps.client.getRun(runId);
    const again = checkpointTracker.find(w => w.runId === detail.run.id);
    if (again) {
      reveal(app, again);
      return again;
    }
    const notebook = await deps.client.checkpoint(detail.run.id);
    const widget = new CheckpointViewer({
      run: detail.run,
      notebook,
      rendermime: deps.rendermime,
      onRestore: () => void restoreCheckpoint(app, deps, detail.run.id)
    });
    void checkpointTracker.add(widget);
    reveal(app, widget);
    await widget.ready;
    return widget;
  } catch (error) {
    notifyFailure('The checkpoint could not be opened', error);
    return null;
  }
}

/** Names in a folder of the server's contents, or null when the folder does not exist. */
async function folderNames(
  app: JupyterFrontEnd,
  dir: string
): Promise<Set<string> | null> {
  try {
    const listing = await app.serviceManager.contents.get(dir, {
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
  app: JupyterFrontEnd,
  deps: IActionDeps,
  runId: string
): Promise<string | null> {
  const contents = app.serviceManager.contents;
  try {
    const { run } = await deps.client.getRun(runId);
    const notebook = await deps.client.checkpoint(run.id);
    const relpath = run.notebook_relpath ?? null;
    const original = relpath ?? run.notebook_path ?? 'run.ipynb';
    const stem = `${PathExt.basename(original, '.ipynb')}-${shortRunId(run.id)}`;
    // Outside the server root (relpath null) or in a folder deleted since: use the root.
    let dir = relpath ? PathExt.dirname(relpath) : '';
    let taken = await folderNames(app, dir);
    if (taken === null) {
      dir = '';
      taken = (await folderNames(app, dir)) ?? new Set();
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
          taken = (await folderNames(app, dir)) ?? new Set();
          taken.add(PathExt.basename(candidate));
        }
      }
      if (!target) {
        throw new Error(`no free name like ${stem}.ipynb was found`);
      }
      await openDocument(app, deps, target);
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
