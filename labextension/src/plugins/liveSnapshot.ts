/**
 * Sends each notebook's live content to its kernel before a `%%track` cell runs, and
 * provides the kernels' run notices (`ILiveRuns`) to the runs sidebar.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

import { LiveSnapshotChannel } from '../liveSnapshot';
import { ILiveRuns, LIVE_SNAPSHOT_PLUGIN_ID } from '../tokens';

export const liveSnapshotPlugin: JupyterFrontEndPlugin<ILiveRuns> = {
  id: LIVE_SNAPSHOT_PLUGIN_ID,
  description:
    'Sends the live notebook (unsaved edits included) to the kernel for %%track.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: ILiveRuns,
  activate: (_: JupyterFrontEnd, tracker: INotebookTracker): ILiveRuns =>
    new LiveSnapshotChannel(tracker)
};
