/**
 * A run's checkpoint shown read-only in the main area.
 *
 * Why nbdime and not a notebook document: opening the checkpoint as a document would need a
 * file (a temp .ipynb the user could still edit, save and later mistake for real work) and
 * cleanup. Here the notebook never touches disk: nbdime's diff widget, given the checkpoint
 * and an empty diff, renders every cell — sources in read-only editors, outputs through the
 * same render-mime registry as notebooks — with no way to edit or save. "Restore as new
 * notebook" is the explicit way to get an editable copy.
 */
import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { PromiseDelegate } from '@lumino/coreutils';
import { Panel, Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

import { Run } from '../api/schema';
import { shortRunId } from '../format';

export interface ICheckpointViewerOptions {
  run: Run;
  /** nbformat v4 notebook JSON from `GET /runs/{id}/checkpoint`. */
  notebook: any;
  rendermime: IRenderMimeRegistry;
  onRestore: () => void;
}

export class CheckpointViewer extends MainAreaWidget<Panel> {
  constructor(options: ICheckpointViewerOptions) {
    const content = new Panel();
    content.addClass('jp-mm-Checkpoint-content');
    super({ content });
    const { run } = options;
    this.runId = run.id;
    this.id = `jupyter-mm-checkpoint-${run.id}`;
    this.addClass('jp-mm-Checkpoint');
    this.node.dataset.runId = run.id;
    const name = run.notebook_relpath ?? run.notebook_path ?? 'notebook';
    this.title.label = `${name.split('/').pop()} @ ${shortRunId(run.id)} (read-only)`;
    this.title.caption = `Checkpoint of run ${run.id} (${run.checkpoint_source}), read-only`;
    this.title.closable = true;

    const banner = new Widget();
    banner.addClass('jp-mm-Checkpoint-banner');
    banner.node.textContent =
      `Read-only checkpoint of ${name} as it was when run ${run.id} started ` +
      `(source: ${run.checkpoint_source}).`;
    content.addWidget(banner);

    this.toolbar.addItem(
      'restore',
      new ToolbarButton({
        label: 'Restore as new notebook',
        tooltip:
          'Write this checkpoint as a new notebook next to the original and open it',
        onClick: options.onRestore
      })
    );

    const model = new NotebookDiffModel(options.notebook, []);
    const notebook = new NotebookDiffWidget({
      model,
      rendermime: options.rendermime
    });
    notebook.addClass('nbdime-root');
    notebook.addClass('jp-mm-Checkpoint-notebook');
    content.addWidget(notebook);
    notebook.init().then(
      () => this._ready.resolve(),
      error => {
        banner.node.textContent = `The checkpoint could not be rendered: ${error}`;
        banner.addClass('jp-mm-Error');
        this._ready.resolve();
      }
    );
  }

  /** Full id of the run whose checkpoint this is. */
  readonly runId: string;

  /** Resolves when every cell has been rendered. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  private readonly _ready = new PromiseDelegate<void>();
}
