/**
 * The left-area panel listing runs (DESIGN §10): a toolbar over a virtualized list. The
 * widget only wires the model to React; behaviour lives in `model.ts` and the components.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { RunList } from '../components/runList/RunList';
import { SidebarHeader } from '../components/SidebarHeader';
import { RunsListModel } from '../model';
import { SIDEBAR_ID } from '../tokens';

/** A flask: "experiments". Drawn with currentColor-free JupyterLab icon classes. */
export const runsIcon = new LabIcon({
  name: 'jupyter-mm:runs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M9 2v2h1v5.2L4.3 18.6A2.2 2.2 0 0 0 6.2 22h11.6a2.2' +
    ' 2.2 0 0 0 1.9-3.4L14 9.2V4h1V2H9zm3 2v5.8l2.6 4.2H9.4L12 9.8V4z"/></svg>'
});

export interface IRunsSidebarOptions {
  model: RunsListModel;
  /** Open a run's detail in the main area. */
  openRun: (runId: string) => void;
  /** Open the diff of the two selected runs. */
  compare: () => void;
}

export class RunsSidebar extends ReactWidget {
  constructor(options: IRunsSidebarOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-mm-Sidebar');
    this.addClass('jp-mm-Panel');
    this.title.icon = runsIcon;
    this.title.caption = 'Runs (jupyter-mm)';
    this._options = options;
  }

  get model(): RunsListModel {
    return this._options.model;
  }

  protected render(): JSX.Element {
    const { model, openRun, compare } = this._options;
    return (
      <UseSignal signal={model.changed} initialSender={model}>
        {() => (
          <>
            <SidebarHeader
              model={model}
              onRefresh={() => void model.refresh()}
              onCompare={compare}
            />
            <SidebarBody model={model} openRun={openRun} />
          </>
        )}
      </UseSignal>
    );
  }

  private _options: IRunsSidebarOptions;
}

function SidebarBody(props: {
  model: RunsListModel;
  openRun: (id: string) => void;
}): JSX.Element {
  const { model } = props;
  let notice: JSX.Element | null = null;
  if (model.waitingForNotebook) {
    notice = (
      <div className="jp-mm-Empty">
        Open a notebook to see its runs, or switch to all notebooks.
      </div>
    );
  } else if (model.runs.length === 0 && !model.loading && !model.error) {
    notice = (
      <div className="jp-mm-Empty">
        {model.query || model.status
          ? 'No run matches the search.'
          : 'No runs yet. Put %%track on the first line of a cell (after %load_ext jupyter_mm) and run it.'}
      </div>
    );
  } else if (model.runs.length === 0 && model.loading) {
    notice = <div className="jp-mm-Empty">Loading runs…</div>;
  }
  return (
    <div className="jp-mm-SidebarBody">
      {model.error && (
        <div className="jp-mm-Error" role="alert">
          {model.error}
        </div>
      )}
      {notice}
      <RunList model={model} onOpen={props.openRun} />
    </div>
  );
}
