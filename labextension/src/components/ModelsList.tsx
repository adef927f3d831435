/**
 * The Models panel's list: one row per registered model with its production version,
 * staging versions and aliases. Clicking a row opens the model view in the main area.
 */
import * as React from 'react';

import { ModelSummary } from '../api/schema';

/** A stage as a small coloured label; `data-stage` is the hook tests and CSS use. */
export function StageBadge(props: {
  stage: string;
  version?: number;
}): JSX.Element {
  return (
    <span className="jp-mm-StageBadge" data-stage={props.stage}>
      {props.version !== undefined
        ? `${props.stage} v${props.version}`
        : props.stage}
    </span>
  );
}

export function AliasChips(props: { aliases: string[] }): JSX.Element | null {
  if (props.aliases.length === 0) {
    return null;
  }
  return (
    <span className="jp-mm-Aliases">
      {props.aliases.map(alias => (
        <span key={alias} className="jp-mm-Alias" title={`alias @${alias}`}>
          @{alias}
        </span>
      ))}
    </span>
  );
}

export function ModelsList(props: {
  models: ModelSummary[] | null;
  error: string | null;
  open: (name: string) => void;
}): JSX.Element {
  const { models, error } = props;
  if (error) {
    return <p className="jp-mm-Error">{error}</p>;
  }
  if (models === null) {
    return <p className="jp-mm-Empty">Loading models…</p>;
  }
  if (models.length === 0) {
    return (
      <p className="jp-mm-Empty">
        No models yet. Register one from a run&apos;s artifacts (run detail →
        Register) or with <code>jupyter mm register</code>.
      </p>
    );
  }
  return (
    <ul className="jp-mm-ModelList">
      {models.map(model => (
        <li
          key={model.name}
          className="jp-mm-ModelRow"
          data-testid="mm-model-row"
          data-model={model.name}
          tabIndex={0}
          title={model.description ?? model.name}
          onClick={() => props.open(model.name)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              props.open(model.name);
            }
          }}
        >
          <div className="jp-mm-ModelRow-head">
            <span className="jp-mm-ModelRow-name">{model.name}</span>
            <span className="jp-mm-ModelRow-count">
              {model.version_count} version
              {model.version_count === 1 ? '' : 's'}
            </span>
          </div>
          <div className="jp-mm-ModelRow-stages">
            {model.production !== null && (
              <StageBadge stage="production" version={model.production} />
            )}
            {model.staging.map(version => (
              <StageBadge key={version} stage="staging" version={version} />
            ))}
            <AliasChips
              aliases={Object.entries(model.aliases).map(
                ([alias, v]) => `${alias}→v${v}`
              )}
            />
          </div>
        </li>
      ))}
    </ul>
  );
}
