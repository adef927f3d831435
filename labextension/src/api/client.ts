import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_PREFIX, IServerInfo } from '../tokens';

/**
 * An error answered by the jupyter-mm server: the server always sends
 * `{"error": {"status", "message"}}` with a one-sentence message.
 */
export class MMRequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'MMRequestError';
  }
}

/**
 * Call the jupyter-mm REST API. `ServerConnection` adds the base URL, the token and the
 * XSRF header, so the request is authenticated exactly like JupyterLab's own.
 */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_PREFIX, endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      // A proxy or an old server may answer HTML; keep the status for the message.
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      (body as { error?: { message?: string } } | null)?.error?.message ??
      `The jupyter-mm server answered ${response.status} ${response.statusText}.`;
    throw new MMRequestError(response.status, message);
  }
  return body as T;
}

/** `GET /jupyter-mm/api/info`: which store the server reads, and its version. */
export function fetchServerInfo(
  settings?: ServerConnection.ISettings
): Promise<IServerInfo> {
  return requestAPI<IServerInfo>('info', {}, settings);
}
