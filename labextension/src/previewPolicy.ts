/**
 * Where a view asked for goes: the preview-tab policy of the main-area views (run detail,
 * diff, checkpoint, model, lineage), kept free of widgets so it can be unit tested.
 *
 * Each kind of view has at most one *preview* tab. Opening something that is shown
 * already focuses that tab; opening something new replaces the preview tab of its kind;
 * only when every tab of the kind is pinned does a new tab open. Browsing runs one after
 * another therefore costs one tab, not one per click. See docs/architecture.md#preview-tabs.
 */

/** An open view as the policy sees it. */
export interface IOpenView {
  /** Every key the view answers to (full id, the id asked for, a pair, …). */
  readonly keys: readonly string[];
  readonly pinned: boolean;
}

/** What to do with a request for the view with `key`. */
export type PreviewDecision =
  | { readonly action: 'reveal'; readonly index: number }
  | { readonly action: 'replace'; readonly index: number }
  | { readonly action: 'open' };

/**
 * Decide where the view with `key` goes among the `open` views of its kind (in tab
 * order): reveal a view showing it already (a pinned one first), else replace the
 * preview, else open a new tab.
 */
export function placeView(
  open: readonly IOpenView[],
  key: string
): PreviewDecision {
  const showing = open
    .map((view, index) => ({ view, index }))
    .filter(({ view }) => view.keys.includes(key));
  if (showing.length > 0) {
    const pinned = showing.find(({ view }) => view.pinned);
    return { action: 'reveal', index: (pinned ?? showing[0]).index };
  }
  const preview = open.findIndex(view => !view.pinned);
  if (preview >= 0) {
    return { action: 'replace', index: preview };
  }
  return { action: 'open' };
}

/**
 * After a view resolved what it shows (a prefix or `latest` became a full id), the other
 * view of its kind showing the same thing, if any: the one to keep instead of the new one.
 */
export function twinOf(
  open: readonly IOpenView[],
  index: number,
  resolvedKey: string
): number | null {
  const twin = open.findIndex(
    (view, i) => i !== index && view.keys.includes(resolvedKey)
  );
  return twin >= 0 ? twin : null;
}
