/**
 * Small pieces shared by the run detail and the diff view: formatting of times, sizes and
 * digests, the status badge, and a section wrapper.
 */
import { checkIcon, copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { MetricValue } from '../api/schema';

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Local date and time of an epoch-seconds timestamp. */
export function formatTime(epochSeconds: number | null | undefined): string {
  if (!epochSeconds) {
    return '—';
  }
  return new Date(epochSeconds * 1000).toLocaleString();
}

export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '—';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Metric values: numbers with up to 6 significant digits; 'nan'/'inf' as sent. */
export function formatMetric(value: MetricValue | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Number(value.toPrecision(6)).toString();
}

/** The part of a digest people compare by eye (`algo:` prefix kept, 12 hex characters). */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) {
    return '—';
  }
  const colon = digest.indexOf(':');
  return colon >= 0 ? digest.slice(0, colon + 13) : digest.slice(0, 12);
}

export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span
      className={`jp-mm-Status jp-mm-Status-${props.status}`}
      title={`Status: ${props.status}`}
    >
      {props.status}
    </span>
  );
}

/** A short digest with the full one in a tooltip and a button that copies it. */
export function Digest(props: { digest: string | null }): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  if (!props.digest) {
    return <span>—</span>;
  }
  const digest = props.digest;
  const copy = (): void => {
    void navigator.clipboard?.writeText(digest).then(
      () => {
        setCopied(true);
        window.setTimeout(() => setCopied(false), 1500);
      },
      () => undefined
    );
  };
  return (
    <span className="jp-mm-Digest">
      <code title={digest}>{shortDigest(digest)}</code>
      <button
        type="button"
        className="jp-mm-IconButton"
        title="Copy the full digest"
        aria-label="Copy the full digest"
        onClick={copy}
      >
        {copied ? (
          <checkIcon.react tag="span" elementSize="small" />
        ) : (
          <copyIcon.react tag="span" elementSize="small" />
        )}
      </button>
    </span>
  );
}

/**
 * A recorded path as people read it: relative to the notebook's folder when it is inside it
 * (`data/train.csv`), else as recorded (absolute).
 */
export function relativeToNotebook(
  path: string,
  notebookPath: string | null
): string {
  if (!notebookPath) {
    return path;
  }
  const slash = Math.max(
    notebookPath.lastIndexOf('/'),
    notebookPath.lastIndexOf('\\')
  );
  const folder = notebookPath.slice(0, slash + 1);
  return folder && path.startsWith(folder) ? path.slice(folder.length) : path;
}

/** A titled section of a detail page. */
export function Section(props: {
  title: string;
  count?: number;
  children?: React.ReactNode;
  testId?: string;
}): JSX.Element {
  return (
    <section className="jp-mm-Section" data-testid={props.testId}>
      <h3 className="jp-mm-Section-title">
        {props.title}
        {props.count !== undefined && (
          <span className="jp-mm-Section-count">{props.count}</span>
        )}
      </h3>
      {props.children}
    </section>
  );
}

/** Placeholder text for an empty section. */
export function Empty(props: { children: React.ReactNode }): JSX.Element {
  return <p className="jp-mm-Empty">{props.children}</p>;
}
