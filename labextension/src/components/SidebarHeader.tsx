/**
 * The sidebar's toolbar: scope toggle (this notebook / all), refresh, search, status
 * filter, metric-column chooser and the Compare button.
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { RUN_STATUSES, RunStatus } from '../api/schema';
import { RunsListModel } from '../model';

/** Wait this long after the last keystroke before asking the server. */
const SEARCH_DEBOUNCE_MS = 250;

export interface ISidebarHeaderProps {
  model: RunsListModel;
  onRefresh: () => void;
  onCompare: () => void;
}

export function SidebarHeader(props: ISidebarHeaderProps): JSX.Element {
  const { model } = props;
  const [text, setText] = React.useState(model.query);
  const timer = React.useRef<number | null>(null);

  React.useEffect(
    () => () => {
      if (timer.current !== null) {
        window.clearTimeout(timer.current);
      }
    },
    []
  );

  const onSearch = (value: string): void => {
    setText(value);
    if (timer.current !== null) {
      window.clearTimeout(timer.current);
    }
    timer.current = window.setTimeout(() => {
      timer.current = null;
      model.setQuery(value);
    }, SEARCH_DEBOUNCE_MS);
  };

  const scopeLabel =
    model.scope === 'notebook'
      ? `This notebook${model.notebookPath ? `: ${basename(model.notebookPath)}` : ''}`
      : 'All notebooks';
  const canCompare = model.selection.length === 2;

  return (
    <div className="jp-mm-SidebarHeader">
      <div className="jp-mm-SidebarHeader-row">
        <button
          type="button"
          className="jp-mm-Button jp-mm-ScopeToggle"
          data-testid="mm-scope-toggle"
          aria-pressed={model.scope === 'all'}
          title={
            model.scope === 'notebook'
              ? 'Showing runs of the current notebook; click to show all notebooks'
              : 'Showing runs of all notebooks; click to show only the current notebook'
          }
          onClick={() => model.toggleScope()}
        >
          {scopeLabel}
        </button>
        <button
          type="button"
          className="jp-mm-Button jp-mm-IconButton"
          title="Refresh the runs list"
          aria-label="Refresh the runs list"
          onClick={props.onRefresh}
        >
          <refreshIcon.react tag="span" elementPosition="center" />
        </button>
        <OwnerFilter model={model} />
      </div>
      <div className="jp-mm-SidebarHeader-row">
        <input
          type="search"
          className="jp-mm-Search"
          data-testid="mm-search"
          placeholder="Search runs (name, id, params…)"
          aria-label="Search runs"
          value={text}
          onChange={event => onSearch(event.target.value)}
        />
        <select
          className="jp-mm-StatusFilter"
          data-testid="mm-status-filter"
          aria-label="Filter by status"
          value={model.status}
          onChange={event =>
            model.setStatus(event.target.value as RunStatus | '')
          }
        >
          <option value="">Any status</option>
          {RUN_STATUSES.map(status => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div className="jp-mm-SidebarHeader-row">
        <MetricColumnChooser model={model} />
        <button
          type="button"
          className="jp-mm-Button jp-mm-CompareButton"
          data-testid="mm-compare"
          disabled={!canCompare}
          title={
            canCompare
              ? 'Compare the two selected runs'
              : 'Select two runs (Ctrl/Cmd-click or the checkboxes) to compare them'
          }
          onClick={props.onCompare}
        >
          Compare
          {model.selection.length > 0 ? ` (${model.selection.length}/2)` : ''}
        </button>
      </div>
    </div>
  );
}

/** "My runs / everyone's": the server keeps the runs of the user logged in. */
function OwnerFilter(props: { model: RunsListModel }): JSX.Element {
  const { model } = props;
  return (
    <select
      className="jp-mm-OwnerFilter"
      data-testid="mm-owner-filter"
      aria-label="Whose runs"
      title="Show only the runs you recorded, or everyone's"
      value={model.mine ? 'mine' : 'everyone'}
      onChange={event => model.setMine(event.target.value === 'mine')}
    >
      <option value="everyone">Everyone's runs</option>
      <option value="mine">My runs</option>
    </select>
  );
}

/** A disclosure listing the metric names with a checkbox each. */
function MetricColumnChooser(props: { model: RunsListModel }): JSX.Element {
  const { model } = props;
  const chosen = model.metricColumns;
  const available = model.availableMetrics;
  const toggle = (name: string): void => {
    const next = chosen.includes(name)
      ? chosen.filter(other => other !== name)
      : // Keep the order in which the server lists the names, so columns do not jump.
        available.filter(other => other === name || chosen.includes(other));
    model.setMetricColumns(next);
  };
  return (
    <details className="jp-mm-ColumnChooser" data-testid="mm-metric-columns">
      <summary title="Choose the metric columns">
        Metrics ({chosen.length})
      </summary>
      <div
        className="jp-mm-ColumnChooser-list"
        role="group"
        aria-label="Metric columns"
      >
        {available.length === 0 && (
          <div className="jp-mm-Muted">No metrics logged yet.</div>
        )}
        {available.map(name => (
          <label key={name} className="jp-mm-ColumnChooser-item">
            <input
              type="checkbox"
              checked={chosen.includes(name)}
              onChange={() => toggle(name)}
            />
            {name}
          </label>
        ))}
      </div>
    </details>
  );
}

function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}
