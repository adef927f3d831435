/**
 * Shared state of the registry views: `changed` fires after every write (so the panel and
 * open model views reload) and `refusals` keeps the last gate refusal per model so that
 * the model view can show it inline until the model changes (refusalIsCurrent).
 */
import { Signal } from '@lumino/signaling';

import type { Event } from './api/schema';

export class RegistryState {
  readonly changed = new Signal<this, string | null>(this);
  readonly refusals = new Map<string, string>();

  notify(model: string | null): void {
    this.changed.emit(model);
  }
}

/**
 * Whether a refusal shown for a model still describes it: a refused transition is the
 * newest record of the model's audit trail (`events` oldest first). Any later change —
 * here, from the CLI or by another user — makes it stale.
 */
export function refusalIsCurrent(events: readonly Event[]): boolean {
  return events[events.length - 1]?.action === 'transition_refused';
}
