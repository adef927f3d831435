/**
 * Identifiers and shared types of the jupyter-mm lab extension.
 *
 * Plugin ids follow JupyterLab's `<npm package>:<plugin>` convention so that users can
 * disable a single plugin with `jupyter labextension disable jupyter-mm:<plugin>`.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { MMClient } from './api/client';
import type { RunsListModel } from './model';
import type { RegistryState } from './registryState';

/** npm package name; prefix of every plugin id and command id. */
export const NAMESPACE = 'jupyter-mm';

/** Id of the plugin that connects the frontend to the jupyter-mm server extension. */
export const CONNECTION_PLUGIN_ID = `${NAMESPACE}:connection`;
/** Id of the plugin that owns the runs sidebar and its list commands. */
export const SIDEBAR_PLUGIN_ID = `${NAMESPACE}:sidebar`;
/** Id of the plugin that opens run details, diffs and checkpoints. */
export const RUN_VIEWS_PLUGIN_ID = `${NAMESPACE}:run-views`;
/** Id of the plugin that owns the Models panel and the registry commands. */
export const REGISTRY_PLUGIN_ID = `${NAMESPACE}:registry`;
/** Id of the plugin that reviews approval requests and notifies approvers. */
export const APPROVALS_PLUGIN_ID = `${NAMESPACE}:approvals`;
/** Id of the MIME renderer extension of the run card. */
export const RUN_CARD_EXTENSION_ID = `${NAMESPACE}:run-card`;
/** Id of the plugin that sends live notebook snapshots to kernels. */
/** Plugin: the Monitoring view of served and monitored models. */
export const MONITORING_PLUGIN_ID = `${NAMESPACE}:monitoring`;

export const LIVE_SNAPSHOT_PLUGIN_ID = `${NAMESPACE}:live-snapshot`;
/** Shows monitor alerts (jupyter_mm.alerts) as JupyterLab notifications. */
export const ALERTS_PLUGIN_ID = `${NAMESPACE}:alerts`;

/** URL prefix of the REST API served by `jupyter_mm.server` (relative to the base URL). */
export const API_PREFIX = 'jupyter-mm/api';

/** Name of the comm target the kernel side (`jupyter_mm.comm`) registers. */
export const COMM_TARGET = 'jupyter_mm';

/** MIME type of the run card bundle the `%%track` magic displays. */
export const RUN_MIME_TYPE = 'application/vnd.jupyter-mm.run+json';

/** Id of the sidebar widget (a stable DOM hook for tests and for `app.shell.activateById`). */
export const SIDEBAR_ID = 'jupyter-mm-sidebar';

/** Command ids (fixed conventions shared with the browser tests and the README). */
export const CommandIDs = {
  openSidebar: `${NAMESPACE}:open-sidebar`,
  refresh: `${NAMESPACE}:refresh`,
  toggleScope: `${NAMESPACE}:toggle-scope`,
  openRun: `${NAMESPACE}:open-run`,
  compareRuns: `${NAMESPACE}:compare-runs`,
  openCheckpoint: `${NAMESPACE}:open-checkpoint`,
  restoreCheckpoint: `${NAMESPACE}:restore-checkpoint`,
  openModels: `${NAMESPACE}:open-models`,
  openModel: `${NAMESPACE}:open-model`,
  registerModel: `${NAMESPACE}:register-model`,
  promoteVersion: `${NAMESPACE}:promote-version`,
  rollbackModel: `${NAMESPACE}:rollback-model`,
  openLineage: `${NAMESPACE}:open-lineage`,
  openMonitoring: `${NAMESPACE}:open-monitoring`
} as const;

/** Commands of the approvals feature (plugins/approvals.ts). */
export const ApprovalCommandIDs = {
  openApproval: `${NAMESPACE}:open-approval`,
  requestTransition: `${NAMESPACE}:request-transition`
} as const;

/** Id of the Models panel in the left area (a stable DOM hook like `SIDEBAR_ID`). */
export const MODELS_PANEL_ID = 'jupyter-mm-models';

/**
 * DOM events that bridge code without access to the application (the run card is a MIME
 * renderer, which JupyterLab creates without an `app`) to the plugins, which listen on
 * `document` (`listenOnDocument` in shell.ts).
 */
export const DOMEvents = {
  /** `detail: { id: string }` — open the run in the sidebar and its detail view. */
  openRun: 'jupyter-mm:open-run',
  /** `detail: IRunNotice` — a run card was rendered: refresh the list. */
  runShown: 'jupyter-mm:run-shown',
  /** `detail: { run_id: string, artifact: string }` — open the register dialog. */
  registerArtifact: 'jupyter-mm:register-artifact',
  /** `detail: { model: string }` — a registry write elsewhere: reload that model's views. */
  registryChanged: 'jupyter-mm:registry-changed'
} as const;

/** Detail of the `DOMEvents.runShown` event and of the live channel's run signal. */
export interface IRunNotice {
  /** Full id of the run. */
  runId: string;
  /** Status the kernel reported (`finished`, `failed`, ...). */
  status: string;
}

/** Kernel → frontend run notices, provided by the live-snapshot plugin. */
export interface ILiveRuns {
  /** Emits after every tracked run of any open notebook's kernel. */
  readonly runRecorded: ISignal<unknown, IRunNotice>;
}

export const ILiveRuns = new Token<ILiveRuns>(
  `${NAMESPACE}:ILiveRuns`,
  'Notices of runs recorded by the kernels of open notebooks.'
);

/**
 * The one dependency convention of the features: every action, command and view takes a
 * `deps` object built once by its plugin, which holds the application and the API client,
 * plus what that feature needs besides (`IRunViewDeps`, `IRegistryDeps`). Features reach
 * each other through commands (`CommandIDs`), never through each other's deps.
 */
export interface IMMDeps {
  app: JupyterFrontEnd;
  client: MMClient;
}

/**
 * The run views (detail, diff, checkpoint). `docManager` is null when JupyterLab runs
 * without a document manager; notebooks are then opened through the `docmanager:open`
 * command.
 */
export interface IRunViewDeps extends IMMDeps {
  rendermime: IRenderMimeRegistry;
  docManager: IDocumentManager | null;
}

/** The registry views and dialogs: `state` tells every open view about a write. */
export interface IRegistryDeps extends IMMDeps {
  state: RegistryState;
}

/** The runs list the sidebar shows; the run commands act on its selection. */
export const IRunsListModel = new Token<RunsListModel>(
  `${NAMESPACE}:IRunsListModel`,
  'The runs list of the sidebar: its filters, loaded runs and selection.'
);
