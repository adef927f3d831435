/**
 * Placing a view in "the main area" of whichever shell the extension runs in.
 *
 * JupyterLab's shell has a dock panel of tabs. Notebook 7's shell keeps exactly one
 * document in its main area and silently ignores any other widget added there; it shows
 * secondary views in its bottom tab panel (`down`, where its debugger console goes) or a
 * side panel. A view is therefore offered to `main` first and, when the shell did not take
 * it, to `down`, then `right`. The view is added with a `type`, so a Notebook 7 user can
 * move all jupyter-mm views elsewhere through the shell's layout setting.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { SplitPanel, TabPanel, Widget } from '@lumino/widgets';

/** The `type` jupyter-mm views are added with (Notebook 7's layout setting keys on it). */
export const VIEW_TYPE = 'jupyter-mm';

/** CSS class of every jupyter-mm view outside a dock panel. */
const OUTSIDE_DOCK_CLASS = 'jp-mm-OutsideDock';

/** The areas tried, in order, for a view the shell's main area would not hold. */
const FALLBACK_AREAS = ['down', 'right'] as const;

/**
 * Add `widget` to the main area, next to `ref` when given (a preview tab it replaces),
 * or to the first area the shell accepts it in.
 */
export function addView(
  app: JupyterFrontEnd,
  widget: Widget,
  ref: Widget | null = null
): void {
  const options: DocumentRegistry.IOpenOptions = { type: VIEW_TYPE };
  if (ref?.isAttached) {
    options.ref = ref.id;
    options.mode = 'tab-after';
  }
  app.shell.add(widget, 'main', options);
  for (const area of FALLBACK_AREAS) {
    if (widget.parent) {
      break;
    }
    widget.addClass(OUTSIDE_DOCK_CLASS);
    app.shell.add(widget, area, { type: VIEW_TYPE });
  }
}

/** Show `widget`: placed with `addView` the first time, focused every time. */
export function showView(app: JupyterFrontEnd, widget: Widget): void {
  if (!widget.isAttached) {
    addView(app, widget);
  }
  activateView(app, widget);
}

/** Share of a split panel a view outside the dock gets when it is shown too small. */
const OUTSIDE_DOCK_SHARE = 0.5;

/** Focus a view wherever it was placed, selecting its tab in a plain tab panel too. */
export function activateView(app: JupyterFrontEnd, widget: Widget): void {
  app.shell.activateById(widget.id);
  // A lumino TabPanel (Notebook 7's bottom panel) does not switch tabs on activation.
  const panel = widget.parent?.parent;
  if (panel instanceof TabPanel) {
    if (panel.currentWidget !== widget) {
      panel.currentWidget = widget;
    }
    // After the shell's layout ran (a panel shown just now has no height yet).
    requestAnimationFrame(() => giveRoom(panel));
  }
}

/**
 * Notebook 7's bottom panel opens as tall as its tab bar: a run's detail would be a strip.
 * When the panel holding a view is shorter than its share of the split it sits in, the
 * split is resized once to give it that share; a size the user dragged to is kept.
 */
function giveRoom(panel: TabPanel): void {
  const split = panel.parent;
  if (!(split instanceof SplitPanel) || split.orientation !== 'vertical') {
    return;
  }
  const total = split.node.clientHeight;
  if (
    total === 0 ||
    panel.node.clientHeight >= total * OUTSIDE_DOCK_SHARE * 0.8
  ) {
    return;
  }
  const index = split.widgets.indexOf(panel);
  const others = split.widgets.length - 1;
  split.setRelativeSizes(
    split.widgets.map((_, i) =>
      i === index ? OUTSIDE_DOCK_SHARE : (1 - OUTSIDE_DOCK_SHARE) / others
    )
  );
}
