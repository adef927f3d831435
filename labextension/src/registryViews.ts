/**
 * The registry's main-area views: one tab per model and per version lineage, focused
 * instead of opened twice, and reopened after a page reload like the run views.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';

import { reveal } from './shell';
import { CommandIDs, IRegistryDeps } from './tokens';
import { LineageWidget, ModelWidget } from './widgets/models';

export const modelTracker = new WidgetTracker<ModelWidget>({
  namespace: 'jupyter-mm-model'
});
export const lineageTracker = new WidgetTracker<LineageWidget>({
  namespace: 'jupyter-mm-lineage'
});

/** Model and lineage tabs come back after a page reload, like the run views do. */
export function restoreRegistryViews(restorer: ILayoutRestorer): void {
  void restorer.restore(modelTracker, {
    command: CommandIDs.openModel,
    args: widget => ({ name: widget.modelName }),
    name: widget => widget.modelName
  });
  void restorer.restore(lineageTracker, {
    command: CommandIDs.openLineage,
    args: widget => ({ name: widget.modelName, version: widget.version }),
    name: widget => `${widget.modelName}/${widget.version}`
  });
}

/** Open (or focus) the view of one model. */
export function openModel(deps: IRegistryDeps, name: string): ModelWidget {
  const existing = modelTracker.find(w => w.modelName === name);
  if (existing) {
    reveal(deps.app, existing);
    return existing;
  }
  const widget = new ModelWidget(deps, name);
  void modelTracker.add(widget);
  reveal(deps.app, widget);
  return widget;
}

/** Open (or focus) the lineage of one version. */
export function openLineage(
  deps: IRegistryDeps,
  name: string,
  version: number
): LineageWidget {
  const existing = lineageTracker.find(
    w => w.modelName === name && w.version === version
  );
  if (existing) {
    reveal(deps.app, existing);
    return existing;
  }
  const widget = new LineageWidget(deps, name, version);
  void lineageTracker.add(widget);
  reveal(deps.app, widget);
  return widget;
}
