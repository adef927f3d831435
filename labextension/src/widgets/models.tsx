/**
 * The registry's widgets: the Models panel (left area, next to the runs sidebar), the view
 * of one model and the lineage of one version (main area). Each reloads when a registry
 * write anywhere in the page emits `RegistryState.changed`.
 */
import {
  MainAreaWidget,
  ReactWidget,
  ToolbarButton
} from '@jupyterlab/apputils';
import { LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { listApprovals } from '../api/approvals';
import {
  ApprovalList,
  Lineage,
  ModelDetail,
  ModelSummary
} from '../api/schema';
import { ApprovalsTable } from '../components/ApprovalViews';
import { LineageView } from '../components/LineageView';
import { ModelDetailView } from '../components/ModelsDetail';
import { ModelsList } from '../components/ModelsList';
import { ServingEndpoints } from '../components/ServingEndpoints';
import { removeAlias, setAlias } from '../registryActions';
import { refusalIsCurrent } from '../registryState';
import { errorMessage } from '../format';
import {
  ApprovalCommandIDs,
  CommandIDs,
  IRegistryDeps,
  MODELS_PANEL_ID
} from '../tokens';

/** A stacked box: "registered models". */
export const modelsIcon = new LabIcon({
  name: 'jupyter-mm:models',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M12 2 3 6.5v11L12 22l9-4.5v-11L12 2zm0 2.2 6.6 3.3' +
    'L12 10.8 5.4 7.5 12 4.2zM5 9.1l6 3v7.6l-6-3V9.1zm8 10.6v-7.6l6-3v7.6l-6 3z"/></svg>'
});

/** Left-area panel listing registered models. */
export class ModelsPanel extends ReactWidget {
  constructor(private readonly _deps: IRegistryDeps) {
    super();
    this.id = MODELS_PANEL_ID;
    this.addClass('jp-mm-Panel');
    this.addClass('jp-mm-ModelsPanel');
    this.title.icon = modelsIcon;
    this.title.caption = 'Models (jupyter-mm)';
    this.node.dataset.testid = 'mm-models';
    _deps.state.changed.connect(() => void this.reload(), this);
  }

  /** Fetch the model list again (also when the panel becomes visible). */
  async reload(): Promise<void> {
    try {
      this._models = await this._deps.client.listModels();
      this._error = null;
    } catch (error) {
      this._error = `The models could not be listed: ${errorMessage(error)}`;
    }
    this._approvals = await listApprovals(this._deps.client).catch(() => null);
    this.update();
  }

  protected onAfterShow(): void {
    void this.reload();
  }

  protected render(): JSX.Element {
    return (
      <>
        <div className="jp-mm-ModelsPanel-header">
          <h2>Models</h2>
          <button
            className="jp-mm-IconButton"
            title="Reload the model list"
            aria-label="Reload the model list"
            onClick={() => void this.reload()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </div>
        <ModelsList
          models={this._models}
          error={this._error}
          open={name =>
            void this._deps.app.commands.execute(CommandIDs.openModel, {
              name
            })
          }
        />
        {this._approvals && this._approvals.requests.length > 0 && (
          <div className="jp-mm-ModelsPanel-requests">
            <h3>Approval requests</h3>
            <ApprovalsTable
              requests={this._approvals.requests.slice(0, PANEL_REQUESTS)}
              user={this._approvals.user}
              open={id =>
                void this._deps.app.commands.execute(
                  ApprovalCommandIDs.openApproval,
                  { id }
                )
              }
            />
          </div>
        )}
      </>
    );
  }

  private _models: ModelSummary[] | null = null;
  private _approvals: ApprovalList | null = null;
  private _error: string | null = null;
}

let nextWidgetId = 0;

/** Requests the Models panel lists (newest first); the model views list all of theirs. */
const PANEL_REQUESTS = 10;

/** Content of the model view; state lives here so that a reload keeps the tab. */
class ModelContent extends ReactWidget {
  constructor(
    private readonly _deps: IRegistryDeps,
    readonly modelName: string
  ) {
    super();
    this.addClass('jp-mm-Model');
    this.node.dataset.model = modelName;
  }

  async reload(): Promise<void> {
    try {
      this._detail = await this._deps.client.getModel(this.modelName);
      this._approvals = await listApprovals(
        this._deps.client,
        'all',
        this.modelName
      ).catch(() => null);
      this._error = null;
      if (!refusalIsCurrent(this._detail.events)) {
        this._deps.state.refusals.delete(this.modelName);
      }
    } catch (error) {
      this._error = `The model "${this.modelName}" could not be loaded: ${errorMessage(error)}`;
    }
    this.update();
  }

  protected render(): JSX.Element {
    const deps = this._deps;
    const name = this.modelName;
    if (this._error) {
      return <p className="jp-mm-Error">{this._error}</p>;
    }
    if (!this._detail) {
      return <p className="jp-mm-Empty">Loading {name}…</p>;
    }
    const { commands } = deps.app;
    return (
      <ModelDetailView
        detail={this._detail}
        refusal={deps.state.refusals.get(name) ?? null}
        approvals={this._approvals}
        serving={<ServingEndpoints client={deps.client} model={name} />}
        actions={{
          request: (version, stage) =>
            void commands.execute(ApprovalCommandIDs.requestTransition, {
              name,
              version,
              stage
            }),
          openApproval: id =>
            void commands.execute(ApprovalCommandIDs.openApproval, { id }),
          promote: (version, stage) =>
            void commands.execute(CommandIDs.promoteVersion, {
              name,
              version,
              stage
            }),
          rollback: () =>
            void commands.execute(CommandIDs.rollbackModel, { name }),
          lineage: version =>
            void commands.execute(CommandIDs.openLineage, { name, version }),
          openRun: id => void commands.execute(CommandIDs.openRun, { id }),
          setAlias: version => void setAlias(deps, name, version),
          removeAlias: alias => void removeAlias(deps, name, alias),
          monitoring: () =>
            void commands.execute(CommandIDs.openMonitoring, { name })
        }}
      />
    );
  }

  private _detail: ModelDetail | null = null;
  private _approvals: ApprovalList | null = null;
  private _error: string | null = null;
}

function addRefreshButton(
  widget: MainAreaWidget,
  reload: () => Promise<void>
): void {
  widget.toolbar.addItem(
    'refresh',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: 'Reload from the store',
      onClick: () => void reload()
    })
  );
}

/** Main-area view of one model: versions, stage buttons, refusal and audit trail. */
export class ModelWidget extends MainAreaWidget<ModelContent> {
  constructor(deps: IRegistryDeps, name: string) {
    const content = new ModelContent(deps, name);
    super({ content });
    this.id = `jupyter-mm-model-${nextWidgetId++}`;
    this.title.label = `Model ${name}`;
    this.title.icon = modelsIcon;
    this.title.closable = true;
    addRefreshButton(this, () => content.reload());
    deps.state.changed.connect((_, model) => {
      if (model === null || model === name) {
        void content.reload();
      }
    }, this);
    void content.reload();
  }

  get modelName(): string {
    return this.content.modelName;
  }
}

class LineageContent extends ReactWidget {
  constructor(
    private readonly _deps: IRegistryDeps,
    readonly modelName: string,
    readonly version: number
  ) {
    super();
    this.addClass('jp-mm-Lineage');
    this.node.dataset.model = modelName;
    this.node.dataset.version = String(version);
  }

  async reload(): Promise<void> {
    try {
      this._lineage = await this._deps.client.lineage(
        this.modelName,
        this.version
      );
      this._error = null;
    } catch (error) {
      this._error = `The lineage of ${this.modelName} version ${this.version} could not be loaded: ${errorMessage(error)}`;
    }
    this.update();
  }

  protected render(): JSX.Element {
    if (this._error) {
      return <p className="jp-mm-Error">{this._error}</p>;
    }
    if (!this._lineage) {
      return <p className="jp-mm-Empty">Loading lineage…</p>;
    }
    const { commands } = this._deps.app;
    return (
      <LineageView
        lineage={this._lineage}
        actions={{
          openRun: id => void commands.execute(CommandIDs.openRun, { id }),
          openCheckpoint: id =>
            void commands.execute(CommandIDs.openCheckpoint, { id })
        }}
      />
    );
  }

  private _lineage: Lineage | null = null;
  private _error: string | null = null;
}

/** Main-area lineage of one version, with links to its run and checkpoint. */
export class LineageWidget extends MainAreaWidget<LineageContent> {
  constructor(deps: IRegistryDeps, name: string, version: number) {
    const content = new LineageContent(deps, name, version);
    super({ content });
    this.id = `jupyter-mm-lineage-${nextWidgetId++}`;
    this.title.label = `Lineage ${name} v${version}`;
    this.title.icon = modelsIcon;
    this.title.closable = true;
    addRefreshButton(this, () => content.reload());
    deps.state.changed.connect((_, model) => {
      if (model === null || model === name) {
        void content.reload();
      }
    }, this);
    void content.reload();
  }

  get modelName(): string {
    return this.content.modelName;
  }

  get version(): number {
    return this.content.version;
  }
}
