/**
 * The model view: versions with stage badges, aliases and key metrics, the stage buttons
 * (promote / demote / archive), rollback, the last gate refusal and the audit trail.
 */
import * as React from 'react';

import {
  ApprovalList,
  Event,
  ModelDetail,
  Stage,
  VersionRow
} from '../api/schema';
import { ApprovalsTable } from './ApprovalViews';
import { StageBadge } from './ModelsList';
import { Empty, Section } from './RunDetailCommon';
import {
  EMPTY,
  eventReason,
  formatMetric,
  formatTime,
  shortDigest,
  shortRunId
} from '../format';

/** Metric columns shown in the versions table (the rest are one click away, in lineage). */
const MAX_METRIC_COLUMNS = 4;

export interface IModelActions {
  promote: (version: number, stage: Stage) => void;
  rollback: () => void;
  lineage: (version: number) => void;
  openRun: (runId: string) => void;
  setAlias: (version: number) => void;
  removeAlias: (alias: string) => void;
  /** Ask for a transition into a stage that needs approval; open a request's review. */
  request: (version: number, stage: Stage) => void;
  openApproval: (id: number) => void;
  /** the Monitoring view: drift, live performance, latency, alerts */
  monitoring: () => void;
}

/** A version's aliases, each with a button that removes it. */
function EditableAliases(props: {
  aliases: string[];
  remove: (alias: string) => void;
}): JSX.Element {
  return (
    <span className="jp-mm-Aliases">
      {props.aliases.map(alias => (
        <span key={alias} className="jp-mm-Alias" data-alias={alias}>
          @{alias}
          <button
            className="jp-mm-AliasRemove"
            data-testid="mm-remove-alias"
            data-alias={alias}
            title={`Remove the alias @${alias}`}
            aria-label={`Remove the alias @${alias}`}
            onClick={() => props.remove(alias)}
          >
            ×
          </button>
        </span>
      ))}
    </span>
  );
}

/** The moves the registry's rules allow from `stage` (rules.py), as (target, label). */
function moves(stage: Stage): [Stage, string][] {
  switch (stage) {
    case 'none':
      return [
        ['staging', 'Promote to staging'],
        ['archived', 'Archive']
      ];
    case 'staging':
      return [
        ['production', 'Promote to production'],
        ['archived', 'Archive']
      ];
    case 'production':
      return [
        ['staging', 'Demote to staging'],
        ['archived', 'Archive']
      ];
    case 'archived':
      return [['staging', 'Back to staging']];
    default:
      return [];
  }
}

/** The metrics most versions logged, in a stable order. */
function metricColumns(versions: VersionRow[]): string[] {
  const counts = new Map<string, number>();
  for (const version of versions) {
    for (const name of Object.keys(version.metrics)) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_METRIC_COLUMNS)
    .map(([name]) => name)
    .sort();
}

/** Who registered each version (its `register` event's user). */
function registrants(events: Event[]): Map<number, string | null> {
  const by = new Map<number, string | null>();
  for (const e of events) {
    if (e.action === 'register' && e.version !== null) {
      by.set(e.version, e.user);
    }
  }
  return by;
}

function VersionsTable(props: {
  versions: VersionRow[];
  actions: IModelActions;
  registrants: Map<number, string | null>;
  needsApproval: readonly string[];
}): JSX.Element {
  const columns = metricColumns(props.versions);
  const newestFirst = [...props.versions].sort((a, b) => b.version - a.version);
  return (
    <table className="jp-mm-Table jp-mm-Versions">
      <thead>
        <tr>
          <th scope="col">version</th>
          <th scope="col">stage</th>
          <th scope="col">run</th>
          {columns.map(name => (
            <th key={name} scope="col" className="jp-mm-Number">
              {name}
            </th>
          ))}
          <th scope="col">registered</th>
          <th scope="col">by</th>
          <th scope="col">actions</th>
        </tr>
      </thead>
      <tbody>
        {newestFirst.map(v => (
          <tr
            key={v.version}
            data-testid="mm-version-row"
            data-version={v.version}
          >
            <td>
              v{v.version}{' '}
              <EditableAliases
                aliases={v.aliases}
                remove={props.actions.removeAlias}
              />
            </td>
            <td>
              <StageBadge stage={v.stage} />
            </td>
            <td>
              <a
                href="#"
                className="jp-mm-RunLink"
                title={`Open run ${v.run_id} (artifact ${v.artifact}, ${v.flavor}, blake3:${shortDigest(v.digest)})`}
                onClick={event => {
                  event.preventDefault();
                  props.actions.openRun(v.run_id);
                }}
              >
                {v.run_name ?? shortRunId(v.run_id)}
              </a>
              {v.description && (
                <div
                  className="jp-mm-VersionDescription"
                  data-testid="mm-version-description"
                >
                  {v.description}
                </div>
              )}
            </td>
            {columns.map(name => (
              <td key={name} className="jp-mm-Number">
                {formatMetric(v.metrics[name])}
              </td>
            ))}
            <td>{formatTime(v.created_time)}</td>
            <td data-testid="mm-registrant">
              {props.registrants.get(v.version) ?? EMPTY}
            </td>
            <td className="jp-mm-VersionActions">
              {moves(v.stage).map(([stage, label]) =>
                props.needsApproval.includes(stage) ? (
                  <button
                    key={stage}
                    className="jp-mm-Button"
                    data-testid="mm-request"
                    data-stage={stage}
                    title={`${stage} needs a second person's approval`}
                    onClick={() => props.actions.request(v.version, stage)}
                  >
                    Request {stage}…
                  </button>
                ) : (
                  <button
                    key={stage}
                    className="jp-mm-Button"
                    data-testid="mm-promote"
                    data-stage={stage}
                    onClick={() => props.actions.promote(v.version, stage)}
                  >
                    {label}
                  </button>
                )
              )}
              <button
                className="jp-mm-Button"
                data-testid="mm-set-alias"
                title="Name this version (name@alias)"
                onClick={() => props.actions.setAlias(v.version)}
              >
                Alias…
              </button>
              <button
                className="jp-mm-Button"
                data-testid="mm-lineage"
                title="Run, checkpoint, data and environment behind this version"
                onClick={() => props.actions.lineage(v.version)}
              >
                Lineage
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One sentence per audit event, as the CLI's `jupyter mm events` reads. */
export function describeEvent(event: Event): string {
  const version = event.version !== null ? `v${event.version}` : '';
  const move = `${event.from_stage ?? '?'} → ${event.to_stage ?? '?'}`;
  switch (event.action) {
    case 'transition':
      return `${version} ${move}`;
    case 'transition_refused':
      return `${version} ${move} refused`;
    case 'rollback':
      // a rollback records one event per version it moved (restored and archived)
      return `${version} ${move} (rollback)`;
    case 'superseded':
      // another version took production: this one was archived by that promotion
      return `${version} ${move} (superseded)`;
    default:
      return `${event.action} ${version}`.trim();
  }
}

export function EventsTable(props: { events: Event[] }): JSX.Element {
  if (props.events.length === 0) {
    return <Empty>No events yet.</Empty>;
  }
  const newestFirst = [...props.events].sort((a, b) => b.id - a.id);
  return (
    <table className="jp-mm-Table jp-mm-Events" data-testid="mm-events">
      <thead>
        <tr>
          <th scope="col">time</th>
          <th scope="col">user</th>
          <th scope="col">event</th>
          <th scope="col">reason</th>
        </tr>
      </thead>
      <tbody>
        {newestFirst.map(event => (
          <tr key={event.id} data-action={event.action}>
            <td>{formatTime(event.time)}</td>
            <td>{event.user ?? EMPTY}</td>
            <td>{describeEvent(event)}</td>
            <td className="jp-mm-EventReason">{eventReason(event)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ModelDetailView(props: {
  detail: ModelDetail;
  refusal: string | null;
  actions: IModelActions;
  approvals?: ApprovalList | null;
  /** the "Serving" section (components/ServingEndpoints.tsx), when the view has one */
  serving?: React.ReactNode;
}): JSX.Element {
  const { detail, refusal, actions, approvals } = props;
  const target = detail.rollback_to;
  return (
    <div className="jp-mm-ModelBody">
      <header className="jp-mm-ModelHeader">
        <h2>{detail.model.name}</h2>
        {detail.model.description && <p>{detail.model.description}</p>}
        <button
          className="jp-mm-Button"
          data-testid="mm-rollback"
          disabled={target === null}
          title={
            target === null
              ? 'Nothing to roll back: no earlier version was in production'
              : `Put version ${target} back into production`
          }
          onClick={actions.rollback}
        >
          Roll back production
        </button>
        <button
          className="jp-mm-Button"
          data-testid="mm-open-monitoring"
          title="Drift, live performance, latency and alerts of the served version"
          onClick={actions.monitoring}
        >
          Monitoring
        </button>
      </header>
      {refusal && (
        <p className="jp-mm-Refusal" data-testid="mm-refusal" role="alert">
          {refusal}
        </p>
      )}
      <Section title="Versions" count={detail.versions.length}>
        <VersionsTable
          versions={detail.versions}
          actions={actions}
          registrants={registrants(detail.events)}
          needsApproval={approvals?.require_approval ?? []}
        />
      </Section>
      {approvals && approvals.requests.length > 0 && (
        <Section title="Approval requests" count={approvals.requests.length}>
          <ApprovalsTable
            requests={approvals.requests}
            user={approvals.user}
            open={actions.openApproval}
            showModel={false}
          />
        </Section>
      )}
      {props.serving}
      <Section title="Audit trail" count={detail.events.length}>
        <EventsTable events={detail.events} />
      </Section>
    </div>
  );
}
