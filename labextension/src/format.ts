/**
 * How the lab extension writes values for people: durations, times, sizes, metric values,
 * run ids, digests, statuses and errors. Every view (runs list, run detail, diff, registry,
 * run card) formats through these functions, so one value reads the same everywhere.
 *
 * Durations follow the convention of the kernel's text card and the CLI: `0.42 s`,
 * `12.3 s`, `4 min 05 s`, `1 h 02 min`.
 */
import { EVIDENCE_ACTIONS, type MetricValue } from './api/schema';

/** What a view shows for a value that is missing or not known yet. */
export const EMPTY = '—';

/** Characters of a run id shown to people (the CLI shows the same prefix). */
export const SHORT_ID_LENGTH = 10;

/** Hex characters of a digest shown to people (after its `algo:` prefix, if any). */
const SHORT_DIGEST_LENGTH = 12;

export function shortRunId(runId: string): string {
  return runId.slice(0, SHORT_ID_LENGTH);
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * `0.42 s` below ten seconds, `12.3 s` below a minute, `4 min 05 s` below an hour, then
 * `1 h 02 min`; EMPTY while unknown (a running run) or negative (clocks that disagree).
 * Whole units come from the duration rounded to the second, so 119.6 s is `2 min 00 s`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (
    seconds === null ||
    seconds === undefined ||
    !Number.isFinite(seconds) ||
    seconds < 0
  ) {
    return EMPTY;
  }
  // Compare the rounded text, not the raw value: 9.996 s must not read `10.00 s`.
  if (Number(seconds.toFixed(2)) < 10) {
    return `${seconds.toFixed(2)} s`;
  }
  if (Number(seconds.toFixed(1)) < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  if (minutes < 60) {
    return `${minutes} min ${twoDigits(total % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${twoDigits(minutes % 60)} min`;
}

/** Compact age for narrow columns: `now`, `5m`, `3h`, `2d`, `7w`, `1y`. */
export function formatAge(
  epochSeconds: number,
  now: number = Date.now()
): string {
  const elapsed = Math.max(0, now / 1000 - epochSeconds);
  const steps: [number, string][] = [
    [365 * 86400, 'y'],
    [7 * 86400, 'w'],
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm']
  ];
  for (const [size, unit] of steps) {
    if (elapsed >= size) {
      return `${Math.floor(elapsed / size)}${unit}`;
    }
  }
  return 'now';
}

/** Local date and time of an epoch-seconds timestamp; EMPTY when there is none. */
export function formatTime(epochSeconds: number | null | undefined): string {
  if (!epochSeconds) {
    return EMPTY;
  }
  return new Date(epochSeconds * 1000).toLocaleString();
}

/** `512 B`, `1.5 KB`, `3.2 MB`, … in powers of 1024. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return EMPTY;
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

/**
 * A metric value with `digits` significant digits (six, like the kernel's text card);
 * integers that fit are written in full; `nan`/`inf` arrive as strings and stay as sent.
 */
export function formatMetric(
  value: MetricValue | null | undefined,
  digits = 6
): string {
  if (value === null || value === undefined) {
    return EMPTY;
  }
  if (typeof value !== 'number') {
    return value;
  }
  if (Number.isInteger(value) && Math.abs(value) < 10 ** digits) {
    return String(value);
  }
  return Number(value.toPrecision(digits)).toString();
}

/** The part of a digest people compare by eye: the `algo:` prefix and 12 hex characters. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) {
    return EMPTY;
  }
  const colon = digest.indexOf(':');
  return colon >= 0
    ? digest.slice(0, colon + 1 + SHORT_DIGEST_LENGTH)
    : digest.slice(0, SHORT_DIGEST_LENGTH);
}

/** Human words for the statuses (the status itself stays the CSS modifier). */
export function statusLabel(status: string): string {
  switch (status) {
    case 'running':
      return 'Running';
    case 'finished':
      return 'Finished';
    case 'failed':
      return 'Failed';
    case 'crashed':
      return 'Crashed (the kernel died during the run)';
    default:
      return status;
  }
}

/**
 * The sentence to show for a caught error: an `Error`'s message (the server's one-sentence
 * message for an `MMApiError`), anything else as text.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where a run's notebook checkpoint came from, in words (the run card, detail, lineage). */
const CHECKPOINT_SOURCE_WORDS: { [source: string]: string } = {
  live: 'live notebook (unsaved edits included)',
  headless: 'notebook file as executed headless by jupyter mm run',
  papermill: 'notebook as executed by papermill (jupyter_mm engine)',
  file: 'saved notebook file',
  history: 'kernel history (no notebook found)',
  none: 'none'
};

/** A checkpoint source in words; a source this version does not know is shown as is. */
export function checkpointSourceLabel(
  source: string | null | undefined
): string {
  if (!source) {
    return 'unknown source';
  }
  return CHECKPOINT_SOURCE_WORDS[source] ?? source;
}

/**
 * An audit event's reason as a person reads it: alerts and retrain steps keep their
 * evidence as JSON, of which the one-line `summary` (as `Event.readable_reason` in Python).
 */
export function eventReason(event: {
  action: string;
  reason?: string | null;
}): string {
  const reason = event.reason ?? '';
  if (!EVIDENCE_ACTIONS.includes(event.action) || !reason) {
    return reason;
  }
  try {
    const evidence: unknown = parseStoredJSON(reason);
    if (evidence && typeof evidence === 'object' && 'summary' in evidence) {
      const summary = (evidence as { summary: unknown }).summary;
      if (typeof summary === 'string') {
        return summary;
      }
    }
  } catch {
    // not JSON after all: shown as it is
  }
  return reason;
}

/**
 * What a team store's monitoring report left out because untrusted writers logged it, e.g.
 * "40 labels from mallory and 1 prediction batches from mallory"; null when nothing was.
 */
export function ignoredRowsText(trust: {
  ignored_labels: number;
  ignored_label_writers: string[];
  ignored_batches: number;
  ignored_batch_writers: string[];
}): string | null {
  const parts: string[] = [];
  if (trust.ignored_labels > 0) {
    parts.push(
      `${trust.ignored_labels} labels from ${trust.ignored_label_writers.join(', ')}`
    );
  }
  if (trust.ignored_batches > 0) {
    parts.push(
      `${trust.ignored_batches} prediction batches from ${trust.ignored_batch_writers.join(', ')}`
    );
  }
  return parts.length === 0 ? null : parts.join(' and ');
}

/** Unicode's explicit bidi formatting characters: embeddings, overrides, isolates. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/g;
/** Whether a JSON text may hold one, raw or escaped (a cheap test before any walk). */
const MAY_HOLD_BIDI =
  /[\u202a-\u202e\u2066-\u2069]|\\u(?:202[a-eA-E]|206[6-9])/;

/**
 * A stored string as the lab shows it: explicit bidi controls as visible escapes
 * (`\u202e`), as the CLI prints them, so that a name cannot make itself read backwards
 * (`abc\u202etxt.exe` shown as "abcexe.txt").
 */
export function withVisibleBidi(text: string): string {
  return text.replace(
    BIDI_CONTROL,
    char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/**
 * Parse a JSON answer of the server with `withVisibleBidi` applied to every string, keys
 * included (so that a metric named with a bidi control still finds its values).
 */
export function parseStoredJSON(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  return MAY_HOLD_BIDI.test(text) ? visibleBidiDeep(parsed) : parsed;
}

function visibleBidiDeep(value: unknown): unknown {
  if (typeof value === 'string') {
    return withVisibleBidi(value);
  }
  if (Array.isArray(value)) {
    return value.map(visibleBidiDeep);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        withVisibleBidi(key),
        visibleBidiDeep(item)
      ])
    );
  }
  return value;
}
