/**
 * Four-eyes views: the list of approval requests (Models panel, model view) and the review
 * of one request — who asked for what and why, the gates of the target stage and the
 * metrics of the requested version beside the version in that stage now, and the
 * Approve / Reject buttons. The notebook, data and package diff of the two versions' runs
 * is the run diff widget, placed below this by `widgets/approval.ts`.
 */
import * as React from 'react';

import {
  ApprovalRequest,
  ApprovalReview,
  GateCheck,
  VersionRow
} from '../api/schema';
import { StageBadge } from './ModelsList';
import { Empty, Section } from './RunDetailCommon';
import { EMPTY, formatMetric, formatTime, shortRunId } from '../format';

/** A request's state as a small label; `data-status` is the hook tests and CSS use. */
export function ApprovalBadge(props: { status: string }): JSX.Element {
  return (
    <span className="jp-mm-ApprovalBadge" data-status={props.status}>
      {props.status}
    </span>
  );
}

/** Requests, newest first; a click opens the review of one. */
export function ApprovalsTable(props: {
  requests: ApprovalRequest[];
  user: string | null;
  open: (id: number) => void;
  showModel?: boolean;
}): JSX.Element {
  if (props.requests.length === 0) {
    return <Empty>No approval requests.</Empty>;
  }
  return (
    <table className="jp-mm-Table jp-mm-Approvals" data-testid="mm-approvals">
      <thead>
        <tr>
          <th scope="col">#</th>
          {props.showModel !== false && <th scope="col">model</th>}
          <th scope="col">version</th>
          <th scope="col">requested by</th>
          <th scope="col">status</th>
          <th scope="col">decided by</th>
        </tr>
      </thead>
      <tbody>
        {props.requests.map(r => (
          <tr
            key={r.id}
            data-testid="mm-approval-row"
            data-request={r.id}
            data-status={r.status}
            className="jp-mm-ApprovalRow"
            title={r.reason ?? ''}
            onClick={() => props.open(r.id)}
          >
            <td>
              <a
                href="#"
                onClick={event => {
                  event.preventDefault();
                  event.stopPropagation();
                  props.open(r.id);
                }}
              >
                {r.id}
              </a>
            </td>
            {props.showModel !== false && <td>{r.model}</td>}
            <td>
              v{r.version} → {r.to_stage}
            </td>
            <td>
              {r.requester ?? EMPTY}
              {r.requester !== null && r.requester === props.user && ' (you)'}
            </td>
            <td>
              <ApprovalBadge status={r.status} />
            </td>
            <td>{r.decided_by ?? EMPTY}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function GateCell(props: { check: GateCheck | undefined }): JSX.Element {
  const { check } = props;
  if (!check) {
    return <td>{EMPTY}</td>;
  }
  const detail = check.problem ?? check.values.join(', ');
  return (
    <td data-passed={check.passed ? 'yes' : 'no'} title={detail}>
      {check.passed ? '✓ met' : '✗ not met'}
      {detail && <span className="jp-mm-GateDetail"> ({detail})</span>}
    </td>
  );
}

/** The target stage's gates on the requested version and on the one in that stage now. */
function GatesTable(props: { review: ApprovalReview }): JSX.Element {
  const { review } = props;
  if (review.candidate_gates.length === 0) {
    return (
      <Empty>No gates are configured for {review.request.to_stage}.</Empty>
    );
  }
  const current = new Map(review.current_gates.map(g => [g.gate, g]));
  return (
    <table className="jp-mm-Table" data-testid="mm-approval-gates">
      <thead>
        <tr>
          <th scope="col">gate</th>
          <th scope="col">v{review.candidate.version} (requested)</th>
          <th scope="col">
            {review.current ? `v${review.current.version} (now)` : 'now'}
          </th>
        </tr>
      </thead>
      <tbody>
        {review.candidate_gates.map(g => (
          <tr key={g.gate}>
            <td>
              <code>{g.gate}</code>
            </td>
            <GateCell check={g} />
            <GateCell check={current.get(g.gate)} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Latest metric values of both versions' runs, side by side. */
function MetricsTable(props: {
  candidate: VersionRow;
  current: VersionRow | null;
}): JSX.Element {
  const { candidate, current } = props;
  const names = [
    ...new Set([
      ...Object.keys(candidate.metrics),
      ...Object.keys(current?.metrics ?? {})
    ])
  ].sort();
  if (names.length === 0) {
    return <Empty>Neither run logged metrics.</Empty>;
  }
  return (
    <table className="jp-mm-Table" data-testid="mm-approval-metrics">
      <thead>
        <tr>
          <th scope="col">metric</th>
          <th scope="col" className="jp-mm-Number">
            v{candidate.version} (requested)
          </th>
          <th scope="col" className="jp-mm-Number">
            {current ? `v${current.version} (now)` : 'now'}
          </th>
        </tr>
      </thead>
      <tbody>
        {names.map(name => (
          <tr key={name} data-metric={name}>
            <td>{name}</td>
            <td className="jp-mm-Number">
              {formatMetric(candidate.metrics[name])}
            </td>
            <td className="jp-mm-Number">
              {current ? formatMetric(current.metrics[name]) : EMPTY}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Decision(props: { request: ApprovalRequest }): JSX.Element | null {
  const r = props.request;
  if (r.status === 'pending') {
    return (
      <p className="jp-mm-ApprovalDecision">
        Waiting for someone other than {r.requester ?? 'the requester'}; expires{' '}
        {formatTime(r.expires_time)}.
      </p>
    );
  }
  const by = r.decided_by ? ` by ${r.decided_by}` : '';
  return (
    <p className="jp-mm-ApprovalDecision" data-testid="mm-approval-decision">
      <ApprovalBadge status={r.status} />
      {by} {formatTime(r.decided_time)}
      {r.decision_reason ? `: ${r.decision_reason}` : ''}
    </p>
  );
}

export interface IApprovalActions {
  decide: (decision: 'approve' | 'reject') => void;
  openRun: (runId: string) => void;
}

export function ApprovalReviewView(props: {
  review: ApprovalReview;
  actions: IApprovalActions;
}): JSX.Element {
  const { review, actions } = props;
  const r = review.request;
  const own = r.requester !== null && r.requester === review.user;
  const refusal = own
    ? 'You requested this; someone else has to approve or reject it.'
    : `This request is ${r.status}.`;
  return (
    <div className="jp-mm-ApprovalReview" data-request={r.id}>
      <header className="jp-mm-ApprovalSummary">
        <h2>
          Request #{r.id}: {r.model} v{r.version}{' '}
          <StageBadge stage={r.from_stage} /> →{' '}
          <StageBadge stage={r.to_stage} />
        </h2>
        <p>
          Requested by <strong>{r.requester ?? EMPTY}</strong>{' '}
          {formatTime(r.created_time)}
          {r.reason ? `: “${r.reason}”` : ''}
        </p>
        <Decision request={r} />
        <p>
          Run{' '}
          <a
            href="#"
            className="jp-mm-RunLink"
            onClick={event => {
              event.preventDefault();
              actions.openRun(review.candidate.run_id);
            }}
          >
            {review.candidate.run_name ?? shortRunId(review.candidate.run_id)}
          </a>
          {review.current
            ? ` replaces v${review.current.version} in ${r.to_stage}.`
            : ` would be the first version in ${r.to_stage}.`}
        </p>
        <div className="jp-mm-ApprovalButtons">
          <button
            className="jp-mm-Button jp-mod-accept"
            data-testid="mm-approve"
            disabled={!review.can_decide}
            title={
              review.can_decide
                ? 'Approve: the transition happens now'
                : refusal
            }
            onClick={() => actions.decide('approve')}
          >
            Approve
          </button>
          <button
            className="jp-mm-Button"
            data-testid="mm-reject"
            disabled={!review.can_decide}
            title={review.can_decide ? 'Reject: nothing moves' : refusal}
            onClick={() => actions.decide('reject')}
          >
            Reject
          </button>
          {!review.can_decide && (
            <span className="jp-mm-Empty" data-testid="mm-approval-why">
              {refusal}
            </span>
          )}
        </div>
      </header>
      <Section
        title={`Gates of ${r.to_stage}`}
        count={review.candidate_gates.length}
      >
        <GatesTable review={review} />
      </Section>
      <Section title="Metrics">
        <MetricsTable candidate={review.candidate} current={review.current} />
      </Section>
    </div>
  );
}
