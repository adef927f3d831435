/**
 * Four eyes in the lab: the review of an approval request (with the run diff of the two
 * versions), the request dialog, and JupyterLab notifications for the requests awaiting the
 * current user (pending requests made by someone else). The registry views reload through
 * the `DOMEvents.registryChanged` event after a decision (features meet through commands
 * and DOM events, never through each other's state).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { listApprovals, requestTransition } from '../api/approvals';
import { MMClient } from '../api/client';
import { numberArg, stringArg } from '../commands/common';
import { errorMessage } from '../format';
import { isTargetStage } from '../registryActions';
import { showView } from '../mainArea';
import {
  APPROVALS_PLUGIN_ID,
  ApprovalCommandIDs,
  CommandIDs,
  DOMEvents
} from '../tokens';
import { ApprovalWidget, askReason } from '../widgets/approval';

/** How often the requests awaiting the user are looked up (and once at start). */
const POLL_MS = 60_000;

function registryChanged(model: string): void {
  document.dispatchEvent(
    new CustomEvent(DOMEvents.registryChanged, { detail: { model } })
  );
}

/** Notify once per request (per page load) of each pending request by someone else. */
function watchAwaiting(app: JupyterFrontEnd, client: MMClient): void {
  const notified = new Set<number>();
  const poll = async (): Promise<void> => {
    let awaiting;
    try {
      awaiting = await listApprovals(client, 'awaiting');
    } catch {
      return; // the server may be gone for a moment; the next poll tries again
    }
    for (const r of awaiting.requests) {
      if (notified.has(r.id)) {
        continue;
      }
      notified.add(r.id);
      Notification.info(
        `${r.requester ?? 'Someone'} asks to move ${r.model} v${r.version} to ${r.to_stage}` +
          (r.reason ? `: ${r.reason}` : '.'),
        {
          autoClose: false,
          actions: [
            {
              label: 'Review',
              callback: () =>
                void app.commands.execute(ApprovalCommandIDs.openApproval, {
                  id: r.id
                })
            }
          ]
        }
      );
    }
  };
  void app.restored.then(poll);
  window.setInterval(() => void poll(), POLL_MS);
}

export const approvalsPlugin: JupyterFrontEndPlugin<void> = {
  id: APPROVALS_PLUGIN_ID,
  description:
    'Reviews, approves and rejects registry transitions that need a second person.',
  autoStart: true,
  optional: [IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    const client = new MMClient(app.serviceManager.serverSettings);
    const open = new Map<number, ApprovalWidget>();
    app.commands.addCommand(ApprovalCommandIDs.openApproval, {
      label: args => `Review Approval Request #${numberArg(args, 'id') ?? ''}`,
      isEnabled: args => !!numberArg(args, 'id') && rendermime !== null,
      execute: args => {
        const id = numberArg(args, 'id');
        if (!id || !rendermime) {
          return;
        }
        let widget = open.get(id);
        if (!widget || widget.isDisposed) {
          widget = new ApprovalWidget({
            client,
            rendermime,
            requestId: id,
            openRun: runId =>
              void app.commands.execute(CommandIDs.openRun, { id: runId }),
            decided: registryChanged
          });
          open.set(id, widget);
        }
        showView(app, widget);
      }
    });
    app.commands.addCommand(ApprovalCommandIDs.requestTransition, {
      label: args =>
        `Request ${stringArg(args, 'stage') ?? 'a Stage'} for Model Version…`,
      isEnabled: args =>
        !!stringArg(args, 'name') &&
        !!numberArg(args, 'version') &&
        isTargetStage(stringArg(args, 'stage')),
      execute: async args => {
        const name = stringArg(args, 'name');
        const version = numberArg(args, 'version');
        const stage = stringArg(args, 'stage');
        if (!name || !version || !isTargetStage(stage)) {
          return;
        }
        const reason = await askReason(
          `Request ${stage} for ${name} v${version}`,
          `${stage} needs a second person's approval. Say why this version should go there.`,
          'Request'
        );
        if (reason === null) {
          return;
        }
        try {
          const made = await requestTransition(
            client,
            name,
            version,
            stage,
            reason
          );
          Notification.success(
            `Request #${made.id} made; someone else approves or rejects it.`,
            { autoClose: 5000 }
          );
          registryChanged(name);
          await app.commands.execute(ApprovalCommandIDs.openApproval, {
            id: made.id
          });
        } catch (error) {
          Notification.error(errorMessage(error), { autoClose: 10000 });
        }
      }
    });
    watchAwaiting(app, client);
  }
};
