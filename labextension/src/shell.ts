/**
 * What the features do with the page around them, written once: report a failed action,
 * open a document, download an artifact, and listen for the DOM events of code that has
 * no application (tokens.ts `DOMEvents`). Placing views is mainArea.ts.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ServerConnection } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { MMApiError, MMClient } from './api/client';
import { errorMessage } from './format';

/** How long a failure notification stays up: long enough to read a server sentence. */
const FAILURE_AUTO_CLOSE_MS = 8000;

/** Tell the user an action failed: `<what>: <the error's sentence>`. */
export function notifyFailure(what: string, error: unknown): void {
  Notification.error(`${what}: ${errorMessage(error)}`, {
    autoClose: FAILURE_AUTO_CLOSE_MS
  });
}

/** Call `handler` with the `detail` of each `type` event dispatched on `document`. */
export function listenOnDocument<T>(
  type: string,
  handler: (detail: Partial<T> | null) => void
): IDisposable {
  const listener = (event: Event): void =>
    handler((event as CustomEvent<Partial<T> | null>).detail ?? null);
  document.addEventListener(type, listener);
  return new DisposableDelegate(() =>
    document.removeEventListener(type, listener)
  );
}

/**
 * Open a file of the server's contents as a document (or focus it when already open),
 * through the document manager when there is one, else through its command.
 */
export async function openDocument(
  app: JupyterFrontEnd,
  docManager: IDocumentManager | null,
  path: string
): Promise<void> {
  if (docManager) {
    docManager.openOrReveal(path);
    return;
  }
  await app.commands.execute('docmanager:open', { path });
}

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
  const response = await ServerConnection.makeRequest(
    client.artifactUrl(runId, name),
    {},
    client.serverSettings
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
