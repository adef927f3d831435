/**
 * The main-area widget showing one run (class `jp-mm-RunDetail`, `data-run-id` = full id).
 */
import {
  MainAreaWidget,
  ReactWidget,
  ToolbarButton
} from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { refreshIcon } from '@jupyterlab/ui-components';
import { PromiseDelegate } from '@lumino/coreutils';
import * as React from 'react';

import { MMClient } from '../api/client';
import { Artifact, RunDetail } from '../api/schema';
import { IRunDetailActions, RunDetailView } from '../components/RunDetailView';
import { errorMessage, shortRunId } from '../format';
import { downloadArtifact } from '../shell';

/** What the page's buttons do, given the full id of the run shown. */
export interface IRunDetailCallbacks {
  openNotebook(path: string): void;
  openCheckpoint(runId: string): void;
  restoreCheckpoint(runId: string): void;
}

export interface IRunDetailWidgetOptions {
  client: MMClient;
  rendermime: IRenderMimeRegistry;
  /** Full id, unique prefix or `latest`. */
  runId: string;
  callbacks: IRunDetailCallbacks;
}

/** Loads the run and renders its page; shows a one-line error instead when it cannot. */
class RunDetailContent extends ReactWidget {
  constructor(
    private readonly _rendermime: IRenderMimeRegistry,
    private readonly _actions: IRunDetailActions
  ) {
    super();
    this.addClass('jp-mm-RunDetail-content');
  }

  detail: RunDetail | null = null;
  error: string | null = null;

  protected render(): JSX.Element {
    const error = this.error && (
      <p className="jp-mm-Error" role="alert">
        {this.error}
      </p>
    );
    if (!this.detail) {
      return error || <p className="jp-mm-Loading">Loading run…</p>;
    }
    // A failed reload keeps the page last loaded, with the reason above it.
    return (
      <>
        {error}
        <RunDetailView
          detail={this.detail}
          rendermime={this._rendermime}
          actions={this._actions}
        />
      </>
    );
  }
}

/** How often the page of a running run is reloaded. */
const RUNNING_POLL_MS = 3000;

/** Makes DOM ids unique when several views of one kind are open. */
let nextWidgetId = 0;

export class RunDetailWidget extends MainAreaWidget<RunDetailContent> {
  constructor(options: IRunDetailWidgetOptions) {
    // The page's buttons act on the resolved run id, known only once loaded.
    const holder: { widget?: RunDetailWidget } = {};
    const id = (): string => holder.widget?.runId ?? options.runId;
    const { callbacks, client } = options;
    const actions: IRunDetailActions = {
      openNotebook: path => callbacks.openNotebook(path),
      openCheckpoint: () => callbacks.openCheckpoint(id()),
      restoreCheckpoint: () => callbacks.restoreCheckpoint(id()),
      downloadArtifact: (artifact: Artifact) =>
        downloadArtifact(client, id(), artifact.name)
    };
    const content = new RunDetailContent(options.rendermime, actions);
    super({ content });
    holder.widget = this;
    this._client = options.client;
    this.requestedId = options.runId;
    this._runId = options.runId;
    this.id = `jupyter-mm-run-${nextWidgetId++}`;
    this.addClass('jp-mm-RunDetail');
    this.node.dataset.runId = options.runId;
    this.title.label = `Run ${shortRunId(options.runId)}`;
    this.title.closable = true;
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Reload this run from the store',
        onClick: () => void this.refresh()
      })
    );
    void this.refresh().then(() => this._ready.resolve());
  }

  /** The id asked for (may be a prefix or `latest`). */
  readonly requestedId: string;

  /** Full run id once loaded; the requested id before. */
  get runId(): string {
    return this._runId;
  }

  /** Resolves after the first load, whether it succeeded or not. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /**
   * Fetch the run again (a running run gains metrics and its end time). While the run is
   * running this repeats every few seconds, so the page follows it without a click.
   */
  async refresh(): Promise<void> {
    window.clearTimeout(this._poll);
    try {
      // After the first load, the resolved id: `latest` must keep meaning this run.
      const detail = await this._client.getRun(
        this._loaded ? this._runId : this.requestedId
      );
      if (this.isDisposed) {
        return;
      }
      this._loaded = true;
      this._runId = detail.run.id;
      this.node.dataset.runId = detail.run.id;
      this.title.label = `${detail.run.name ?? 'Run'} · ${shortRunId(detail.run.id)}`;
      this.title.caption = `${detail.run.name ?? 'Unnamed run'} (${detail.run.id})`;
      this.content.detail = detail;
      this.content.error = null;
      if (detail.run.status === 'running') {
        this._poll = window.setTimeout(
          () => void this.refresh(),
          RUNNING_POLL_MS
        );
      }
    } catch (error) {
      if (this.isDisposed) {
        return;
      }
      this.content.error = `Run ${this.requestedId} could not be loaded: ${errorMessage(error)}`;
    }
    this.content.update();
  }

  dispose(): void {
    window.clearTimeout(this._poll);
    super.dispose();
  }

  private _runId: string;
  private _loaded = false;
  private _poll = 0;
  private readonly _client: MMClient;
  private readonly _ready = new PromiseDelegate<void>();
}
