/**
 * Typed client of the jupyter-mm REST API (`/jupyter-mm/api`, DESIGN §9). Every request goes
 * through `ServerConnection.makeRequest`, which adds the base URL, the token and the XSRF
 * header: the API is authenticated exactly like JupyterLab's own requests.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { parseStoredJSON } from '../format';
import { API_PREFIX } from '../tokens';
import type {
  Alert,
  AlertList,
  EventPage,
  Info,
  Lineage,
  MetricNames,
  ModelDetail,
  ModelList,
  ModelSummary,
  ModelVersion,
  MonitoringReport,
  RegisterRequest,
  RollbackResult,
  ServingEndpointList,
  Stage,
  Notebook,
  RunDetail,
  RunDiff,
  RunPage,
  RunStatus
} from './schema';

/**
 * An error answered by the jupyter-mm server: the server always sends
 * `{"error": {"status", "message"}}` with a one-sentence message, which becomes the
 * error's message so that the UI can show it as is.
 */
export class MMApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'MMApiError';
  }
}

/**
 * Order of `GET /runs`: by start time, or by the latest value of a metric (runs without it
 * are not listed; equal values in run-id order).
 */
export type RunOrder =
  'newest' | 'oldest' | `metric:${string}:desc` | `metric:${string}:asc`;

/** Query of `GET /runs`. Empty strings and empty lists are left out of the URL. */
export interface IListRunsParams {
  /** Notebook path relative to the server root (or absolute); omit for all notebooks. */
  notebook?: string | null;
  status?: RunStatus | '' | null;
  /** Free text matched by the server (name, id, notebook, params...). */
  q?: string | null;
  order?: RunOrder;
  /** 1..200; the server's default applies when omitted. */
  limit?: number;
  /** `next_token` of the previous page. */
  pageToken?: string | null;
  /** Metric names to include in each row; omitted means all (capped by the server). */
  metrics?: string[] | null;
  /** Only the runs recorded for the authenticated user ("my runs"). */
  mine?: boolean;
}

/** Query of `GET /events`. */
export interface IListEventsParams {
  model?: string | null;
  limit?: number;
  pageToken?: string | null;
}

/**
 * Query of `GET /models/{name}/monitoring`: a version (default production, else the
 * latest), and the window as a row count or a duration such as `1h` (not both).
 */
export interface IMonitoringParams {
  version?: number | null;
  window?: number | null;
  since?: string | null;
}

/** Build `?a=1&b=2` from the defined, non-empty values. */
function queryString(
  params: Record<string, string | number | null | undefined>
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** A run id or prefix as one URL path segment. */
function segment(value: string): string {
  return encodeURIComponent(value);
}

/** Client of one Jupyter server's jupyter-mm API. */
export class MMClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** `GET /info`: version of the server package and the store it reads. */
  info(): Promise<Info> {
    return this.request<Info>('info');
  }

  /** `GET /runs`: one page of run summaries, newest first unless told otherwise. */
  listRuns(
    params: IListRunsParams = {},
    signal?: AbortSignal
  ): Promise<RunPage> {
    const query = queryString({
      notebook: params.notebook,
      status: params.status,
      q: params.q?.trim(),
      order: params.order,
      limit: params.limit,
      page_token: params.pageToken,
      mine: params.mine ? 1 : null,
      metrics:
        params.metrics && params.metrics.length > 0
          ? params.metrics.join(',')
          : null
    });
    return this.request<RunPage>(`runs${query}`, { signal });
  }

  /** `GET /runs/metric-names`: the metric names runs (of one notebook) logged. */
  async metricNames(notebook?: string | null): Promise<string[]> {
    const body = await this.request<MetricNames>(
      `runs/metric-names${queryString({ notebook })}`
    );
    return body.names;
  }

  /** `GET /runs/{id}`: everything recorded for one run (id, unique prefix or `latest`). */
  getRun(id: string): Promise<RunDetail> {
    return this.request<RunDetail>(`runs/${segment(id)}`);
  }

  /** `GET /runs/{id}/checkpoint`: the notebook as it was when the run started. */
  checkpoint(id: string): Promise<Notebook> {
    return this.request<Notebook>(`runs/${segment(id)}/checkpoint`);
  }

  /** `GET /runs/{a}/diff/{b}`: notebook diff plus tables of changed values. */
  diff(a: string, b: string, ignoreOutputs = false): Promise<RunDiff> {
    const query = queryString({ ignore_outputs: ignoreOutputs ? 1 : 0 });
    return this.request<RunDiff>(
      `runs/${segment(a)}/diff/${segment(b)}${query}`
    );
  }

  /**
   * URL of an artifact download (for an `<a download>` link). The browser sends the login
   * cookie JupyterLab's page already holds, so the URL carries no token that could leak
   * through history or a copied link.
   */
  artifactUrl(runId: string, name: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      API_PREFIX,
      'runs',
      segment(runId),
      'artifacts',
      segment(name)
    );
  }

  /** `GET /events`: the audit trail of the registry, newest first. */
  events(params: IListEventsParams = {}): Promise<EventPage> {
    const query = queryString({
      model: params.model,
      limit: params.limit,
      page_token: params.pageToken
    });
    return this.request<EventPage>(`events${query}`);
  }

  /** `GET /alerts`: monitor alerts newer than event id `after`, newest first. */
  alerts(after: number | null = null, limit = 50): Promise<AlertList> {
    return this.request<AlertList>(`alerts${queryString({ after, limit })}`);
  }

  /** `GET /models`: every registered model with its stages and aliases. */
  async listModels(): Promise<ModelSummary[]> {
    const body = await this.request<ModelList>('models');
    return body.models;
  }

  /** `GET /models/{name}`: the model, its versions (with metrics) and its audit trail. */
  getModel(name: string): Promise<ModelDetail> {
    return this.request<ModelDetail>(`models/${segment(name)}`);
  }

  /** `POST /models`: register a run's artifact as the next version of `name`. */
  registerModel(body: RegisterRequest): Promise<ModelVersion> {
    return this.send<ModelVersion>('POST', 'models', body);
  }

  /** `POST .../transition`: move a version to `stage`; a gate refusal is a 409. */
  transition(
    name: string,
    version: number,
    stage: Stage,
    reason: string,
    force = false
  ): Promise<ModelVersion> {
    return this.send<ModelVersion>(
      'POST',
      `models/${segment(name)}/versions/${version}/transition`,
      force ? { stage, reason, force } : { stage, reason }
    );
  }

  /** `GET /models/{name}/endpoints`: the serving processes of a model, their split and rate. */
  modelEndpoints(name: string): Promise<ServingEndpointList> {
    return this.request<ServingEndpointList>(
      `models/${segment(name)}/endpoints`
    );
  }

  /** `POST /models/{name}/rollback`: production goes back to the previous version. */
  rollback(name: string, reason: string): Promise<RollbackResult> {
    return this.send<RollbackResult>(
      'POST',
      `models/${segment(name)}/rollback`,
      { reason }
    );
  }

  /** `PUT /models/{name}/aliases/{alias}`: point an alias at a version. */
  setAlias(
    name: string,
    alias: string,
    version: number
  ): Promise<ModelVersion> {
    return this.send<ModelVersion>(
      'PUT',
      `models/${segment(name)}/aliases/${segment(alias)}`,
      { version }
    );
  }

  /** `DELETE /models/{name}/aliases/{alias}`. */
  async removeAlias(name: string, alias: string): Promise<void> {
    await this.request<void>(
      `models/${segment(name)}/aliases/${segment(alias)}`,
      { method: 'DELETE' }
    );
  }

  /** `GET .../lineage`: run, checkpoint, data and environment behind a version. */
  lineage(name: string, version: number): Promise<Lineage> {
    return this.request<Lineage>(
      `models/${segment(name)}/versions/${version}/lineage`
    );
  }

  /** `GET /models/{name}/monitoring`: drift, performance and latency of a version's window. */
  monitoring(
    name: string,
    params: IMonitoringParams = {}
  ): Promise<MonitoringReport> {
    const query = queryString({
      version: params.version,
      window: params.window,
      since: params.since
    });
    return this.request<MonitoringReport>(
      `models/${segment(name)}/monitoring${query}`
    );
  }

  /** `GET /alerts?model=`: one model's alerts, newest first. */
  async modelAlerts(model: string, limit = 50): Promise<Alert[]> {
    const body = await this.request<AlertList>(
      `alerts${queryString({ model, limit })}`
    );
    return body.alerts;
  }

  /** A JSON write (POST/PUT) through the authenticated request path. */
  private send<T>(method: string, endpoint: string, body: unknown): Promise<T> {
    return this.request<T>(endpoint, {
      method,
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' }
    });
  }

  /** Send one request and decode the JSON answer; errors become `MMApiError`. */
  async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(endpoint, init, this.serverSettings);
  }
}

/**
 * Call the jupyter-mm REST API and decode its JSON body. Non-2xx answers become an
 * `MMApiError` carrying the server's one-sentence message (or a sentence naming the status
 * when a proxy answered with something that is not our JSON).
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
    if ((error as Error)?.name === 'AbortError') {
      throw error;
    }
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      // stored strings are data: none may reorder how the text around it reads
      body = parseStoredJSON(text);
    } catch {
      // A proxy or an old server may answer HTML; keep the status for the message.
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      (body as { error?: { message?: string } } | null)?.error?.message ??
      `The jupyter-mm server answered ${response.status} ${response.statusText}.`;
    throw new MMApiError(response.status, message);
  }
  return body as T;
}

/** `GET /jupyter-mm/api/info`: which store the server reads, and its version. */
export function fetchServerInfo(
  settings?: ServerConnection.ISettings
): Promise<Info> {
  return requestAPI<Info>('info', {}, settings);
}
