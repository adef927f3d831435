/**
 * One preview tab per kind of view, unless pinned (the policy is previewPolicy.ts).
 *
 * A preview tab shows its title in italics and has a "Pin" button; pinning (the button,
 * or a double-click on the tab) keeps it open when the next view of its kind is asked
 * for. Pinned state is saved with the tab, so a page reload brings back the same tabs.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  MainAreaWidget,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { activateView, addView } from './mainArea';
import { IOpenView, placeView, twinOf } from './previewPolicy';

/** Class of the tab title and the view while it is a preview. */
const PREVIEW_CLASS = 'jp-mm-Preview';

/** Every kind's tabs, so that one double-click listener can pin any of them. */
const allKinds: PreviewTabs<Widget>[] = [];

/** The views of one kind: their tracker (for restoring) and which of them are pinned. */
export class PreviewTabs<T extends Widget> {
  /**
   * @param tracker - the kind's tracker (the layout restorer saves through it)
   * @param keysOf - the keys a view answers to (see IOpenView.keys)
   */
  constructor(
    readonly tracker: WidgetTracker<T>,
    private readonly _keysOf: (widget: T) => readonly string[]
  ) {
    allKinds.push(this as unknown as PreviewTabs<Widget>);
  }

  /** Whether `widget` stays open when another view of its kind is asked for. */
  isPinned(widget: T): boolean {
    return !widget.hasClass(PREVIEW_CLASS);
  }

  /**
   * Show the view answering to `key`: focus an open one, else `create` one in place of
   * the kind's preview tab, else in a new tab. `pinned` pins the view shown.
   */
  open(app: JupyterFrontEnd, key: string, create: () => T, pinned = false): T {
    const views = this._views();
    const decision = placeView(this._describe(views), key);
    let widget: T;
    if (decision.action === 'reveal') {
      widget = views[decision.index];
    } else {
      widget = create();
      this._adopt(widget);
      const replaced =
        decision.action === 'replace' ? views[decision.index] : null;
      addView(app, widget, replaced);
      replaced?.dispose();
    }
    if (pinned) {
      this.pin(widget);
    }
    activateView(app, widget);
    return widget;
  }

  /**
   * Once `widget` knows what it shows (`resolvedKey`), keep a single tab for it: when
   * another view of the kind shows the same thing, that one is focused and `widget`
   * closed. Returns the view that stays.
   */
  settle(app: JupyterFrontEnd, widget: T, resolvedKey: string): T {
    if (widget.isDisposed) {
      // replaced by the next view of its kind before it finished loading
      return widget;
    }
    const views = this._views();
    const index = views.indexOf(widget);
    const twin = twinOf(this._describe(views), index, resolvedKey);
    if (twin === null) {
      void this.tracker.save(widget);
      return widget;
    }
    const kept = views[twin];
    if (this.isPinned(widget)) {
      this.pin(kept);
    }
    widget.dispose();
    activateView(app, kept);
    return kept;
  }

  /** Keep `widget` open: it is no longer replaced by the next view of its kind. */
  pin(widget: T): void {
    if (this.isPinned(widget)) {
      return;
    }
    widget.removeClass(PREVIEW_CLASS);
    widget.title.className = widget.title.className
      .replace(PREVIEW_CLASS, '')
      .trim();
    if (widget instanceof MainAreaWidget) {
      for (const item of widget.toolbar.children()) {
        if (item.hasClass('jp-mm-PinButton')) {
          item.dispose();
          break;
        }
      }
    }
    void this.tracker.save(widget);
  }

  /** Pin the view with this DOM id if it is one of this kind's; true when it was. */
  pinById(id: string): boolean {
    const widget = this._views().find(view => view.id === id);
    if (widget) {
      this.pin(widget);
    }
    return !!widget;
  }

  private _adopt(widget: T): void {
    widget.addClass(PREVIEW_CLASS);
    widget.title.className =
      `${widget.title.className} ${PREVIEW_CLASS}`.trim();
    // Lets the double-click on a tab (any shell's tab bar) find its view.
    widget.title.dataset = { ...widget.title.dataset, id: widget.id };
    if (widget instanceof MainAreaWidget) {
      const button = new ToolbarButton({
        label: 'Pin',
        tooltip:
          'Keep this tab open (otherwise the next view of this kind replaces it)',
        onClick: () => this.pin(widget)
      });
      button.addClass('jp-mm-PinButton');
      widget.toolbar.insertItem(0, 'pin', button);
    }
    void this.tracker.add(widget);
  }

  private _views(): T[] {
    return this.tracker.filter(() => true);
  }

  private _describe(views: readonly T[]): IOpenView[] {
    return views.map(view => ({
      keys: this._keysOf(view),
      pinned: this.isPinned(view)
    }));
  }
}

let pinListenerInstalled = false;

/** Double-clicking a preview's tab pins it (the listener is installed once per page). */
export function pinOnDoubleClick(): void {
  if (pinListenerInstalled) {
    return;
  }
  pinListenerInstalled = true;
  document.addEventListener('dblclick', event => {
    const tab = (event.target as Element | null)?.closest?.(
      '.lm-TabBar-tab'
    ) as HTMLElement | null;
    const id = tab?.dataset.id;
    if (id) {
      allKinds.some(kind => kind.pinById(id));
    }
  });
}
