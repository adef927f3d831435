/**
 * The "Serving" section of the model view: which `jupyter mm serve` processes serve which
 * versions of the model, the traffic split (champion / canary % / shadow) and the live
 * request rate. Serving processes report themselves in the store every 5 s (heartbeat);
 * the section polls `GET /models/{name}/endpoints` at the same pace while it is shown.
 */
import * as React from 'react';

import type { MMClient } from '../api/client';
import type { ServingEndpoint } from '../api/schema';
import { errorMessage, formatAge } from '../format';
import { describeArm } from '../serving';
import { Empty, Section } from './RunDetailCommon';

/** How often the section asks again: the serving processes' heartbeat interval. */
export const ENDPOINTS_POLL_MS = 5000;

function EndpointRow(props: { endpoint: ServingEndpoint }): JSX.Element {
  const { endpoint } = props;
  return (
    <tr
      data-testid="mm-endpoint-row"
      data-live={endpoint.live ? 'true' : 'false'}
      className={endpoint.live ? '' : 'jp-mm-Muted'}
    >
      <td
        title={`${endpoint.reference} · pid ${endpoint.pid} on ${endpoint.host}`}
      >
        {endpoint.url || `${endpoint.host}:${endpoint.port}`}
      </td>
      <td>{endpoint.reference}</td>
      <td>
        {endpoint.arms.map(arm => (
          <span
            key={arm.arm}
            className="jp-mm-ServingArm"
            data-testid="mm-endpoint-arm"
            data-arm={arm.arm}
            title={arm.problem ?? arm.ref}
          >
            {describeArm(arm)}
            {arm.problem ? ' ⚠' : ''}
          </span>
        ))}
      </td>
      <td className="jp-mm-Number" data-testid="mm-endpoint-rate">
        {endpoint.requests_per_second.toFixed(1)}
      </td>
      <td className="jp-mm-Number">{endpoint.requests}</td>
      <td>
        {endpoint.live
          ? formatAge(endpoint.heartbeat)
          : `silent ${formatAge(endpoint.heartbeat)}`}
      </td>
    </tr>
  );
}

/** The section; fetches on mount and every ENDPOINTS_POLL_MS until unmounted. */
export function ServingEndpoints(props: {
  client: MMClient;
  model: string;
}): JSX.Element {
  const { client, model } = props;
  const [endpoints, setEndpoints] = React.useState<ServingEndpoint[] | null>(
    null
  );
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let stopped = false;
    const load = async (): Promise<void> => {
      try {
        const answer = await client.modelEndpoints(model);
        if (!stopped) {
          setEndpoints(answer.endpoints);
          setError(null);
        }
      } catch (reason) {
        if (!stopped) {
          setError(`Serving endpoints unavailable: ${errorMessage(reason)}`);
        }
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), ENDPOINTS_POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [client, model]);
  const live = (endpoints ?? []).filter(e => e.live).length;
  return (
    <Section title="Serving" count={live} testId="mm-serving">
      {error && <p className="jp-mm-Error">{error}</p>}
      {endpoints !== null && endpoints.length === 0 && (
        <Empty>
          Not served. Start a server with{' '}
          <code>jupyter mm serve {model}@production</code>.
        </Empty>
      )}
      {endpoints !== null && endpoints.length > 0 && (
        <table className="jp-mm-Table jp-mm-Endpoints">
          <thead>
            <tr>
              <th scope="col">endpoint</th>
              <th scope="col">reference</th>
              <th scope="col">traffic</th>
              <th scope="col" className="jp-mm-Number">
                req/s
              </th>
              <th scope="col" className="jp-mm-Number">
                requests
              </th>
              <th scope="col">heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map(endpoint => (
              <EndpointRow key={endpoint.id} endpoint={endpoint} />
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
