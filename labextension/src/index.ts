/**
 * The jupyter-mm plugins, one per feature (src/plugins/). Every JupyterLab service except
 * the application itself is optional, so the extension degrades instead of failing in a
 * trimmed-down JupyterLab (no palette, no document manager, ...). The run card renderer is
 * a MIME extension with its own entry point (mime.ts).
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { approvalsPlugin } from './plugins/approvals';
import { alertsPlugin } from './plugins/alerts';
import { connectionPlugin } from './plugins/connection';
import { liveSnapshotPlugin } from './plugins/liveSnapshot';
import { monitoringPlugin } from './plugins/monitoring';
import { registryPlugin } from './plugins/registry';
import { runsSidebarPlugin } from './plugins/runsSidebar';
import { runViewsPlugin } from './plugins/runViews';

const plugins: JupyterFrontEndPlugin<any>[] = [
  connectionPlugin,
  liveSnapshotPlugin,
  runsSidebarPlugin,
  runViewsPlugin,
  registryPlugin,
  approvalsPlugin,
  monitoringPlugin,
  alertsPlugin
];

export default plugins;
