/**
 * The lineage of a registered version, top to bottom: version → run → checkpoint → data →
 * environment, then the version's audit trail. The same dict `jupyter mm lineage --json`
 * prints; the run and its checkpoint are links into the rest of the extension.
 */
import * as React from 'react';

import { Lineage } from '../api/schema';
import { EnvironmentPackages } from './EnvironmentPackages';
import { EventsTable } from './ModelsDetail';
import { AliasChips, StageBadge } from './ModelsList';
import {
  Digest,
  Empty,
  relativeToNotebook,
  Section,
  StatusBadge
} from './RunDetailCommon';
import {
  checkpointSourceLabel,
  EMPTY,
  formatMetric,
  formatTime,
  shortRunId
} from '../format';

export interface ILineageActions {
  openRun: (runId: string) => void;
  openCheckpoint: (runId: string) => void;
}

function KeyValues(props: { values: Record<string, unknown> }): JSX.Element {
  const entries = Object.entries(props.values);
  if (entries.length === 0) {
    return <Empty>None.</Empty>;
  }
  return (
    <dl className="jp-mm-KeyValues">
      {entries.map(([key, value]) => (
        <React.Fragment key={key}>
          <dt>{key}</dt>
          <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

export function LineageView(props: {
  lineage: Lineage;
  actions: ILineageActions;
}): JSX.Element {
  const { version, run, checkpoint, data, environment, events } = props.lineage;
  return (
    <div className="jp-mm-LineageBody">
      <Section title={`${version.model} version ${version.version}`}>
        <p className="jp-mm-LineageLine">
          <StageBadge stage={version.stage} />{' '}
          <AliasChips aliases={version.aliases} /> artifact{' '}
          <code>{version.artifact}</code> ({version.flavor}){' '}
          <Digest digest={version.digest} />
        </p>
      </Section>
      <Section title="Run">
        <p className="jp-mm-LineageLine">
          <a
            href="#"
            data-testid="mm-lineage-run"
            data-run-id={run.id}
            onClick={event => {
              event.preventDefault();
              props.actions.openRun(run.id);
            }}
          >
            {run.name ?? shortRunId(run.id)}
          </a>{' '}
          <StatusBadge status={run.status} /> {formatTime(run.start_time)} by{' '}
          {run.user ?? EMPTY}@{run.host ?? EMPTY}
        </p>
        <h4>Params</h4>
        <KeyValues values={run.params} />
        <h4>Metrics</h4>
        <KeyValues
          values={Object.fromEntries(
            Object.entries(run.metrics).map(([k, v]) => [k, formatMetric(v)])
          )}
        />
      </Section>
      <Section title="Notebook checkpoint">
        {checkpoint.digest ? (
          <p className="jp-mm-LineageLine">
            <a
              href="#"
              data-testid="mm-lineage-checkpoint"
              onClick={event => {
                event.preventDefault();
                props.actions.openCheckpoint(run.id);
              }}
            >
              {run.notebook_relpath ?? run.notebook_path ?? 'checkpoint'}
            </a>{' '}
            as it was when the run started (
            {checkpointSourceLabel(checkpoint.source)}){' '}
            <Digest digest={checkpoint.digest} />
          </p>
        ) : (
          <Empty>This run recorded no notebook checkpoint.</Empty>
        )}
        {checkpoint.flags.map((flag, index) => (
          <p key={index} className="jp-mm-Warning">
            {flag.message ?? flag.kind}
          </p>
        ))}
      </Section>
      <Section title="Data" count={data.length}>
        {data.length === 0 ? (
          <Empty>No data inputs or outputs were recorded.</Empty>
        ) : (
          <table className="jp-mm-Table">
            <tbody>
              {data.map((ref, index) => (
                <tr key={index}>
                  <td>{ref.role}</td>
                  <td>
                    {ref.kind === 'object'
                      ? ref.name
                      : relativeToNotebook(ref.name, run.notebook_path)}
                  </td>
                  <td>
                    <Digest digest={ref.digest} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Environment">
        {environment ? (
          <>
            <p className="jp-mm-LineageLine">
              Python {environment.python} on {environment.platform}
            </p>
            <EnvironmentPackages
              modules={environment.modules}
              packages={environment.packages}
            />
          </>
        ) : (
          <Empty>No environment was recorded.</Empty>
        )}
      </Section>
      <Section title="Audit trail" count={events.length}>
        <EventsTable events={events} />
      </Section>
    </div>
  );
}
