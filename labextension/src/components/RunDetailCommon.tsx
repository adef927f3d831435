/**
 * Small pieces shared by the run detail, the diff and the registry views: the status badge,
 * a copyable digest, paths relative to the notebook and a section wrapper.
 */
import { checkIcon, copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { EMPTY, shortDigest } from '../format';

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
    return <span>{EMPTY}</span>;
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
