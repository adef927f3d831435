/**
 * Shared state of the registry views: `changed` fires after every write (so the panel and
 * open model views reload) and `refusals` keeps the last gate refusal per model so that
 * the model view can show it inline until the next successful write.
 */
import { Signal } from '@lumino/signaling';

export class RegistryState {
  readonly changed = new Signal<this, string | null>(this);
  readonly refusals = new Map<string, string>();

  notify(model: string | null): void {
    this.changed.emit(model);
  }
}
