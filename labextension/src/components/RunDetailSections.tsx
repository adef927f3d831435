/**
 * The lower sections of the run detail: data read and written, artifacts, the kernel
 * environment and the execution log.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { disposeHosted } from '../charts';
import { Digest, Empty, relativeToNotebook, Section } from './RunDetailCommon';
import { EMPTY, errorMessage, formatSize, shortDigest } from '../format';
import {
  Artifact,
  DataRef,
  Environment,
  Run,
  RunDetail,
  SIDECAR_MEDIA_TYPES
} from '../api/schema';
import { DOMEvents } from '../tokens';

/**
 * Ask the registry plugin to open the register dialog. The run id is read from the detail
 * widget's node (set to the full id once loaded) so that this section needs no new props.
 */
function requestRegister(button: HTMLElement, artifact: string): void {
  const runId = button.closest<HTMLElement>('.jp-mm-RunDetail')?.dataset.runId;
  if (runId) {
    document.dispatchEvent(
      new CustomEvent(DOMEvents.registerArtifact, {
        detail: { run_id: runId, artifact }
      })
    );
  }
}

/** Files are recorded with absolute paths; objects by their variable name. */
export function displayDataName(ref: DataRef, run: Run): string {
  return ref.kind === 'object'
    ? ref.name
    : relativeToNotebook(ref.name, run.notebook_path);
}

export function DataSection(props: { detail: RunDetail }): JSX.Element {
  const { data, run } = props.detail;
  const ordered = [...data].sort(
    (x, y) => x.role.localeCompare(y.role) || x.name.localeCompare(y.name)
  );
  return (
    <Section title="Data" count={data.length}>
      {data.length === 0 ? (
        <Empty>No data inputs or outputs were recorded.</Empty>
      ) : (
        <table className="jp-mm-Table">
          <thead>
            <tr>
              <th scope="col">role</th>
              <th scope="col">kind</th>
              <th scope="col">name</th>
              <th scope="col">size</th>
              <th scope="col">digest</th>
            </tr>
          </thead>
          <tbody>
            {ordered.map(ref => (
              <tr key={`${ref.role}:${ref.name}`}>
                <td>{ref.role}</td>
                <td>
                  {ref.kind}
                  {ref.detail && (
                    <span className="jp-mm-Muted"> ({ref.detail})</span>
                  )}
                </td>
                <td className="jp-mm-Path" title={ref.name}>
                  {displayDataName(ref, run)}
                </td>
                <td className="jp-mm-Number">{formatSize(ref.size)}</td>
                <td>
                  <Digest digest={`${ref.algorithm}:${ref.digest}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

export function ArtifactsSection(props: {
  artifacts: Artifact[];
  download: (artifact: Artifact) => Promise<void>;
}): JSX.Element {
  const [busy, setBusy] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const start = (artifact: Artifact): void => {
    setBusy(artifact.name);
    setError(null);
    props
      .download(artifact)
      .catch(reason => setError(errorMessage(reason)))
      .finally(() => setBusy(null));
  };
  return (
    <Section title="Artifacts" count={props.artifacts.length}>
      {error && <p className="jp-mm-Error">{error}</p>}
      {props.artifacts.length === 0 ? (
        <Empty>No artifacts were saved.</Empty>
      ) : (
        <table className="jp-mm-Table">
          <thead>
            <tr>
              <th scope="col">name</th>
              <th scope="col">type</th>
              <th scope="col">size</th>
              <th scope="col">digest</th>
              <th scope="col">
                <span className="jp-mm-VisuallyHidden">registry</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.artifacts.map(artifact => (
              <tr key={artifact.name}>
                <td>
                  <a
                    href="#"
                    role="button"
                    className="jp-mm-ArtifactLink"
                    data-testid="mm-artifact-link"
                    data-artifact={artifact.name}
                    aria-busy={busy === artifact.name}
                    title={`Download ${artifact.name}`}
                    onClick={event => {
                      event.preventDefault();
                      start(artifact);
                    }}
                  >
                    {artifact.name}
                  </a>
                </td>
                <td>{artifact.media_type}</td>
                <td className="jp-mm-Number">{formatSize(artifact.size)}</td>
                <td>
                  <Digest digest={artifact.digest} />
                </td>
                <td>
                  {!SIDECAR_MEDIA_TYPES.includes(artifact.media_type) && (
                    <button
                      className="jp-mm-Button"
                      data-testid="mm-register-artifact"
                      data-artifact={artifact.name}
                      title={`Register ${artifact.name} as a model version`}
                      onClick={event =>
                        requestRegister(event.currentTarget, artifact.name)
                      }
                    >
                      Register
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function PackageList(props: { packages: Record<string, string> }): JSX.Element {
  const [filter, setFilter] = React.useState('');
  const names = Object.keys(props.packages).sort((x, y) =>
    x.toLowerCase().localeCompare(y.toLowerCase())
  );
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? names.filter(n => n.toLowerCase().includes(needle))
    : names;
  return (
    <details className="jp-mm-Packages">
      <summary>{names.length} installed packages</summary>
      <input
        type="search"
        className="jp-mm-Filter"
        placeholder="Filter packages"
        aria-label="Filter packages"
        value={filter}
        onChange={event => setFilter(event.target.value)}
      />
      <table className="jp-mm-Table jp-mm-Table-compact">
        <tbody>
          {shown.map(name => (
            <tr key={name}>
              <td>{name}</td>
              <td>
                <code>{props.packages[name]}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function EnvironmentSection(props: {
  environment: Environment | null;
}): JSX.Element {
  const env = props.environment;
  if (!env) {
    return (
      <Section title="Environment">
        <Empty>No environment was recorded for this run.</Empty>
      </Section>
    );
  }
  const git = env.git ?? {};
  const modules = Object.entries(env.modules ?? {}).sort(([x], [y]) =>
    x.localeCompare(y)
  );
  const envVars = Object.keys(env.env_vars ?? {}).sort();
  return (
    <Section title="Environment">
      <dl className="jp-mm-Facts">
        <dt>Python</dt>
        <dd>{env.python}</dd>
        <dt>Platform</dt>
        <dd>{env.platform}</dd>
        {env.executable && (
          <>
            <dt>Executable</dt>
            <dd className="jp-mm-Path">{env.executable}</dd>
          </>
        )}
        <dt>Git</dt>
        <dd>
          {git.commit ? (
            <>
              <code title={String(git.commit)}>
                {String(git.commit).slice(0, 12)}
              </code>
              {git.branch && <> on {String(git.branch)}</>}
              {git.dirty && (
                <span
                  className="jp-mm-Badge jp-mm-Badge-warning"
                  title="Uncommitted changes"
                >
                  dirty
                </span>
              )}
            </>
          ) : (
            'not a git repository'
          )}
        </dd>
        <dt>Environment</dt>
        <dd>
          <code title={env.id}>{shortDigest(env.id)}</code>
        </dd>
      </dl>
      <PackageList packages={env.packages ?? {}} />
      {modules.length > 0 && (
        <details className="jp-mm-Modules">
          <summary>{modules.length} imported modules</summary>
          <p className="jp-mm-Inline">
            {modules.map(([name, version]) => (
              <code key={name}>
                {name}
                {version ? ` ${version}` : ''}
              </code>
            ))}
          </p>
        </details>
      )}
      {envVars.length > 0 && (
        <details className="jp-mm-EnvVars">
          <summary>{envVars.length} environment variables</summary>
          <table className="jp-mm-Table jp-mm-Table-compact">
            <tbody>
              {envVars.map(name => (
                <tr key={name}>
                  <td>
                    <code>{name}</code>
                  </td>
                  <td>
                    {env.env_vars[name] === null ? (
                      <span className="jp-mm-Muted">name only</span>
                    ) : (
                      <code>{env.env_vars[name]}</code>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </Section>
  );
}

/** How the kernel got to this run: each execution before it, in order. */
export function ExecutionLogSection(props: { run: Run }): JSX.Element {
  const log = props.run.execution_log ?? [];
  const counts = log.map(e => e.count).filter((c): c is number => c !== null);
  const outOfOrder = counts.some((c, i) => i > 0 && c < counts[i - 1]);
  return (
    <Section title="Execution log" count={log.length}>
      {log.length === 0 ? (
        <Empty>No executions were recorded before this run.</Empty>
      ) : (
        <details className="jp-mm-ExecLog">
          <summary>
            {log.length} executions in this kernel session up to the run
            {outOfOrder ? ', not in order' : ''}
          </summary>
          <table className="jp-mm-Table jp-mm-Table-compact">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">cell</th>
                <th scope="col">source</th>
              </tr>
            </thead>
            <tbody>
              {log.map((entry, i) => (
                <tr key={i}>
                  <td className="jp-mm-Number">{entry.count ?? EMPTY}</td>
                  <td>
                    <code>{entry.cell_id ?? EMPTY}</code>
                  </td>
                  <td>
                    <code title={entry.source_hash}>
                      {shortDigest(entry.source_hash)}
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </Section>
  );
}

/** Output as the REST detail sends it: one nbformat 4 output of the tracked cell. */
type CellOutput = RunDetail['outputs'][number];

// ANSI colour codes in tracebacks: shown as plain text here
const ANSI = new RegExp(
  String.fromCharCode(27) + '\\[[0-9;?]*[ -/]*[@-~]',
  'g'
);

function outputText(value: unknown): string {
  const text = Array.isArray(value) ? value.join('') : String(value ?? '');
  return text.replace(ANSI, '');
}

/**
 * A display_data or execute_result bundle, drawn by JupyterLab's own renderer for its
 * preferred MIME type, untrusted (as every stored output: HTML is sanitized, no scripts).
 */
function RichOutput(props: {
  output: CellOutput;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const { output, rendermime } = props;
  React.useEffect(() => {
    const data = (output.data ?? {}) as Record<string, any>;
    const mimeType = rendermime.preferredMimeType(data, 'ensure');
    if (!mimeType || !host.current) {
      return;
    }
    const renderer = rendermime.createRenderer(mimeType);
    Widget.attach(renderer, host.current);
    void renderer.renderModel(
      new MimeModel({
        data,
        metadata: (output.metadata ?? {}) as Record<string, any>,
        trusted: false
      })
    );
    return () => disposeHosted(renderer);
  }, [output, rendermime]);
  return <div ref={host} className="jp-mm-Output-rich" />;
}

function OneOutput(props: {
  output: CellOutput;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { output } = props;
  if (output.output_type === 'stream') {
    return (
      <pre
        className={`jp-mm-Output-stream jp-mm-Output-${String(output.name)}`}
      >
        {outputText(output.text)}
      </pre>
    );
  }
  if (output.output_type === 'error') {
    const traceback = (output.traceback ?? []) as string[];
    return (
      <pre className="jp-mm-Output-error">
        {traceback.length
          ? traceback.map(outputText).join('\n')
          : `${String(output.ename)}: ${String(output.evalue)}`}
      </pre>
    );
  }
  return <RichOutput output={output} rendermime={props.rendermime} />;
}

/** What the tracked cell printed and showed (its checkpoint is taken as it starts). */
export function OutputsSection(props: {
  outputs: CellOutput[];
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const outputs = props.outputs ?? [];
  return (
    <Section title="Cell outputs" count={outputs.length}>
      {outputs.length === 0 ? (
        <Empty>The tracked cell showed nothing.</Empty>
      ) : (
        <div className="jp-mm-Outputs">
          {outputs.map((output, i) => (
            <OneOutput key={i} output={output} rendermime={props.rendermime} />
          ))}
        </div>
      )}
    </Section>
  );
}
