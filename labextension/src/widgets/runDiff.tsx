/**
 * The main-area diff of two runs (class `jp-mm-RunDiff`): tables of what changed, then the
 * checkpoints' notebook diff rendered by nbdime's own NotebookDiffWidget inside
 * `.jp-mm-RunDiff-notebook`.
 */
import { INotebookContent } from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  MainAreaWidget,
  ReactWidget,
  ToolbarButton
} from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import { PromiseDelegate } from '@lumino/coreutils';
import { Panel } from '@lumino/widgets';
import { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import * as React from 'react';

import { MMClient } from '../api/client';
import { Run, RunDiff } from '../api/schema';
import { RunDiffTables } from '../components/RunDiffTables';
import { errorMessage, shortRunId } from '../format';

export interface IRunDiffWidgetOptions {
  client: MMClient;
  rendermime: IRenderMimeRegistry;
  /** Open a run's detail (the run names in the tables link to it). */
  openRun: (runId: string) => void;
  /** Base run (A) and the run compared to it (B): ids, prefixes or `latest`. */
  runA: string;
  runB: string;
}

/** Header, warnings and change tables; re-rendered on each fetch. */
class RunDiffHeader extends ReactWidget {
  constructor(private readonly _owner: RunDiffWidget) {
    super();
    this.addClass('jp-mm-RunDiff-tables');
  }

  diff: RunDiff | null = null;
  error: string | null = null;
  loading = true;

  protected render(): JSX.Element {
    if (!this.diff) {
      return this.error ? (
        <p className="jp-mm-Error" role="alert">
          {this.error}
        </p>
      ) : (
        <p className="jp-mm-Loading">Comparing runs…</p>
      );
    }
    return (
      <>
        {this.error && (
          <p className="jp-mm-Error" role="alert">
            {this.error}
          </p>
        )}
        <RunDiffTables
          diff={this.diff}
          ignoreOutputs={this._owner.ignoreOutputs}
          loading={this.loading}
          onIgnoreOutputs={ignore => void this._owner.setIgnoreOutputs(ignore)}
          onOpenRun={id => this._owner.openRun(id)}
        />
      </>
    );
  }
}

/** Makes DOM ids unique when several views of one kind are open. */
let nextWidgetId = 0;

export class RunDiffWidget extends MainAreaWidget<Panel> {
  constructor(options: IRunDiffWidgetOptions) {
    const content = new Panel();
    content.addClass('jp-mm-RunDiff-content');
    super({ content });
    this._options = options;
    this.runA = options.runA;
    this.runB = options.runB;
    this.id = `jupyter-mm-diff-${nextWidgetId++}`;
    this.addClass('jp-mm-RunDiff');
    this.node.dataset.runA = options.runA;
    this.node.dataset.runB = options.runB;
    this.title.label = `Diff: ${shortRunId(options.runA)} ↔ ${shortRunId(options.runB)}`;
    this.title.closable = true;

    this._header = new RunDiffHeader(this);
    this._notebook = new Panel();
    this._notebook.addClass('jp-mm-RunDiff-notebook');
    this._notebook.addClass('nbdime-root');
    content.addWidget(this._header);
    content.addWidget(this._notebook);

    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Compare the runs again',
        onClick: () => void this.refresh()
      })
    );
    void this.refresh().then(() => this._ready.resolve());
  }

  readonly runA: string;
  readonly runB: string;

  /** Full ids of A and B once the first diff has loaded; the requested ids before. */
  get resolvedIds(): [string, string] {
    return this._resolved ?? [this.runA, this.runB];
  }

  get ignoreOutputs(): boolean {
    return this._ignoreOutputs;
  }

  /** Resolves once the first diff (tables and notebook) has been rendered or has failed. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /** Fetch the diff again with outputs compared or ignored. */
  async setIgnoreOutputs(ignore: boolean): Promise<void> {
    this._ignoreOutputs = ignore;
    await this.refresh();
  }

  openRun(id: string): void {
    this._options.openRun(id);
  }

  /**
   * Fetch and render. A newer request supersedes an older one still in flight, so that
   * quickly toggling "ignore outputs" never leaves the view showing a stale answer.
   */
  async refresh(): Promise<void> {
    const request = ++this._request;
    this._header.loading = true;
    this._header.update();
    let diff: RunDiff;
    try {
      // Once resolved, the full ids: `latest` must keep meaning the run first compared.
      const [a, b] = this._resolved ?? [this.runA, this.runB];
      diff = await this._options.client.diff(a, b, this._ignoreOutputs);
    } catch (error) {
      if (request === this._request && !this.isDisposed) {
        this._header.loading = false;
        this._header.error = `The runs could not be compared: ${errorMessage(error)}`;
        this._header.update();
      }
      return;
    }
    // Superseded, or closed (a preview replaced) while the answer was on its way.
    if (request !== this._request || this.isDisposed) {
      return;
    }
    this._resolved = [diff.a.id, diff.b.id];
    this.node.dataset.runA = diff.a.id;
    this.node.dataset.runB = diff.b.id;
    // Runs of one cell share a name: the ids tell them apart.
    const label = (run: Run): string =>
      run.name && diff.a.name !== diff.b.name ? run.name : shortRunId(run.id);
    this.title.label = `Diff: ${label(diff.a)} ↔ ${label(diff.b)}`;
    this.title.caption = `Run ${diff.a.id} vs run ${diff.b.id}`;
    this._header.diff = diff;
    this._header.error = null;
    await this._renderNotebook(diff, request);
    if (request === this._request && !this.isDisposed) {
      this._header.loading = false;
      this._header.update();
    }
  }

  private async _renderNotebook(diff: RunDiff, request: number): Promise<void> {
    for (const old of [...this._notebook.widgets]) {
      old.dispose();
    }
    try {
      const model = new NotebookDiffModel(
        // The wire type keeps nbformat's metadata open-ended; nbdime wants nbformat's own.
        diff.notebook.base as unknown as INotebookContent,
        diff.notebook.diff as unknown as IDiffEntry[]
      );
      const widget = new NotebookDiffWidget({
        model,
        rendermime: this._options.rendermime
      });
      this._notebook.addWidget(widget);
      await widget.init();
    } catch (error) {
      if (request === this._request) {
        this._header.error = `The notebook diff could not be rendered: ${errorMessage(error)}`;
      }
    }
  }

  private readonly _options: IRunDiffWidgetOptions;
  private readonly _header: RunDiffHeader;
  private readonly _notebook: Panel;
  private readonly _ready = new PromiseDelegate<void>();
  private _ignoreOutputs = false;
  private _resolved: [string, string] | null = null;
  private _request = 0;
}
