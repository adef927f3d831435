/**
 * Notice registry changes made elsewhere (the CLI, a notebook's `mm.promote`, another user)
 * without a manual refresh. Every registry write appends to the audit trail, so one
 * `GET /events?limit=1` tells whether anything changed: when the newest event id differs
 * from the last one seen, the registry views reload (RegistryState.notify).
 *
 * The poll runs only while a registry view is visible and the page is shown (JupyterLab's
 * own Poll, standing by otherwise), backs off when the server fails, and polls at once
 * when a view becomes visible again.
 */
import { Poll } from '@lumino/polling';
import { IDisposable } from '@lumino/disposable';

import { MMClient } from './api/client';
import { RegistryState } from './registryState';

/** How often a visible registry view asks whether the registry changed. */
export const REGISTRY_POLL_MS = 4000;
/** Longest wait between polls while the server keeps failing. */
const REGISTRY_POLL_MAX_MS = 60_000;

/**
 * Start polling; `visible()` says whether any registry view is on screen. Returns the poll
 * (dispose it to stop) and `refresh`, to poll at once (a view was shown).
 */
export function pollRegistryChanges(
  client: MMClient,
  state: RegistryState,
  visible: () => boolean
): IDisposable & { refresh(): void } {
  let lastSeen: number | null | undefined = undefined;
  const poll = new Poll({
    factory: async () => {
      const page = await client.events({ limit: 1 });
      const newest = page.events[0]?.id ?? null;
      // The first answer counts as a change too: the views may have loaded before a write
      // the poll, standing by until now, did not see (one extra reload at most).
      if (newest !== lastSeen) {
        state.notify(null);
      }
      lastSeen = newest;
    },
    frequency: {
      interval: REGISTRY_POLL_MS,
      backoff: true,
      max: REGISTRY_POLL_MAX_MS
    },
    name: 'jupyter-mm:registry-changes',
    standby: () => document.hidden || !visible()
  });
  return {
    get isDisposed() {
      return poll.isDisposed;
    },
    dispose: () => poll.dispose(),
    refresh: () => void poll.refresh()
  };
}
