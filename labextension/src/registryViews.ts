/**
 * The registry's main-area views: one preview tab per kind (model, version lineage) unless
 * pinned (previewTabs.ts), focused instead of opened twice, and reopened after a page
 * reload like the run views.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';

import { PreviewTabs } from './previewTabs';
import { CommandIDs, IRegistryDeps } from './tokens';
import { LineageWidget, ModelWidget } from './widgets/models';

export const modelTabs = new PreviewTabs(
  new WidgetTracker<ModelWidget>({ namespace: 'jupyter-mm-model' }),
  widget => [widget.modelName]
);
export const lineageTabs = new PreviewTabs(
  new WidgetTracker<LineageWidget>({ namespace: 'jupyter-mm-lineage' }),
  widget => [lineageKey(widget.modelName, widget.version)]
);

function lineageKey(name: string, version: number): string {
  return `${name}/${version}`;
}

/** Model and lineage tabs come back after a page reload, like the run views do. */
export function restoreRegistryViews(restorer: ILayoutRestorer): void {
  void restorer.restore(modelTabs.tracker, {
    command: CommandIDs.openModel,
    args: widget => ({
      name: widget.modelName,
      pinned: modelTabs.isPinned(widget)
    }),
    name: widget => widget.modelName
  });
  void restorer.restore(lineageTabs.tracker, {
    command: CommandIDs.openLineage,
    args: widget => ({
      name: widget.modelName,
      version: widget.version,
      pinned: lineageTabs.isPinned(widget)
    }),
    name: widget => lineageKey(widget.modelName, widget.version)
  });
}

/** Show one model, in the models' preview tab unless a tab shows it already. */
export function openModel(
  deps: IRegistryDeps,
  name: string,
  pinned = false
): ModelWidget {
  return modelTabs.open(
    deps.app,
    name,
    () => new ModelWidget(deps, name),
    pinned
  );
}

/** Show the lineage of one version, in the lineages' preview tab. */
export function openLineage(
  deps: IRegistryDeps,
  name: string,
  version: number,
  pinned = false
): LineageWidget {
  return lineageTabs.open(
    deps.app,
    lineageKey(name, version),
    () => new LineageWidget(deps, name, version),
    pinned
  );
}
