/**
 * Client calls of the approval routes (`/approvals`, four eyes on registry transitions,
 * `jupyter_mm/server/handlers/approvals.py`), through the same authenticated request path
 * as every other call of `MMClient`.
 */
import type { MMClient } from './client';
import type {
  ApprovalList,
  ApprovalRequest,
  ApprovalReview,
  Stage
} from './schema';

/** Which requests `GET /approvals` lists. */
export type ApprovalScope = 'all' | 'mine' | 'awaiting';

function postJSON<T>(
  client: MMClient,
  endpoint: string,
  body: unknown
): Promise<T> {
  return client.request<T>(endpoint, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  });
}

/** `GET /approvals`: newest first; `awaiting`: pending requests by others. */
export function listApprovals(
  client: MMClient,
  scope: ApprovalScope = 'all',
  model?: string
): Promise<ApprovalList> {
  const query = new URLSearchParams();
  if (scope !== 'all') {
    query.set(scope, '1');
  }
  if (model) {
    query.set('model', model);
  }
  const text = query.toString();
  return client.request<ApprovalList>(`approvals${text ? `?${text}` : ''}`);
}

/** `GET /approvals/{id}`: the request, both versions and the target stage's gates. */
export function getApproval(
  client: MMClient,
  id: number
): Promise<ApprovalReview> {
  return client.request<ApprovalReview>(`approvals/${id}`);
}

/** `POST /approvals`: ask for a transition that needs approval. */
export function requestTransition(
  client: MMClient,
  model: string,
  version: number,
  stage: Stage,
  reason: string
): Promise<ApprovalRequest> {
  return postJSON(client, 'approvals', { model, version, stage, reason });
}

/** `POST /approvals/{id}/approve|reject`; a refusal is a 409 with the reason. */
export function decideApproval(
  client: MMClient,
  id: number,
  decision: 'approve' | 'reject',
  reason: string
): Promise<ApprovalRequest> {
  return postJSON(client, `approvals/${id}/${decision}`, { reason });
}
