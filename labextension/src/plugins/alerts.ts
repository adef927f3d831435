/**
 * Monitor alerts as JupyterLab notifications. The server records alerts in the event log
 * (jupyter_mm.alerts); this plugin polls `GET /alerts?after=<last id seen>` and shows one
 * warning per new open alert. The first poll only learns the newest id, so opening
 * JupyterLab does not replay old alerts; after a failed poll (no server extension, a
 * locked store) the next one waits four times longer.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import { MMClient } from '../api/client';
import type { Alert } from '../api/schema';
import { ALERTS_PLUGIN_ID } from '../tokens';

/** Milliseconds between polls: alerts come from passes that run every minute or so. */
export const ALERTS_POLL_MS = 15000;

/**
 * The one-line text of an alert's notification: model, version and rule (JupyterLab cuts
 * notifications at 140 characters, so the values stay in the alert's evidence).
 */
export function alertMessage(alert: Alert): string {
  const where = alert.model ? `${alert.model} v${alert.version ?? '?'}: ` : '';
  const what = alert.rule ?? alert.summary ?? 'a monitor rule fired';
  const actions = alert.actions.length
    ? ` (actions: ${alert.actions.join(', ')})`
    : '';
  return `jupyter-mm alert #${alert.id}: ${where}${what}${actions}`;
}

/** Poll once: notify each new open alert, oldest first; returns the newest id seen. */
export async function pollAlerts(
  client: MMClient,
  after: number | null,
  notify: (alert: Alert) => void
): Promise<number | null> {
  const page = await client.alerts(after);
  if (after !== null) {
    const fresh = page.alerts.filter(a => a.state === 'open').reverse();
    fresh.forEach(notify);
  }
  return page.last_id ?? after;
}

export const alertsPlugin: JupyterFrontEndPlugin<void> = {
  id: ALERTS_PLUGIN_ID,
  description: 'Shows jupyter-mm monitor alerts as notifications.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const client = new MMClient(app.serviceManager.serverSettings);
    let last: number | null = null;
    let primed = false;
    const tick = async (): Promise<void> => {
      try {
        const seen = await pollAlerts(client, primed ? last : null, alert =>
          Notification.warning(alertMessage(alert), { autoClose: false })
        );
        last = seen ?? (primed ? last : 0);
        primed = true;
      } catch (reason) {
        console.warn(`jupyter-mm: alerts not polled: ${reason}`);
        window.setTimeout(() => void tick(), 4 * ALERTS_POLL_MS);
        return;
      }
      window.setTimeout(() => void tick(), ALERTS_POLL_MS);
    };
    void app.started.then(tick);
  }
};
