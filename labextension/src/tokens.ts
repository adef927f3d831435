/**
 * Identifiers and shared types of the jupyter-mm lab extension.
 *
 * Plugin ids follow JupyterLab's `<npm package>:<plugin>` convention so that users can
 * disable a single plugin with `jupyter labextension disable jupyter-mm:<plugin>`.
 */

/** npm package name; prefix of every plugin id and command id. */
export const NAMESPACE = 'jupyter-mm';

/** Id of the plugin that connects the frontend to the jupyter-mm server extension. */
export const CONNECTION_PLUGIN_ID = `${NAMESPACE}:connection`;

/** URL prefix of the REST API served by `jupyter_mm.server` (relative to the base URL). */
export const API_PREFIX = 'jupyter-mm/api';

/** Body of `GET /jupyter-mm/api/info`. */
export interface IServerInfo {
  /** Version of the jupyter-mm Python package the server runs. */
  version: string;
  /** URL of the store the server reads, with any credentials removed. */
  store: string;
  /** Alembic revision of the store schema. */
  schema_version: string;
}
