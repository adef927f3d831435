/**
 * Formatting shared by the runs list and the run card: durations, relative times, metric
 * values and status labels. Plain functions so that both views say the same thing.
 */
import type { MetricValue } from '../api/schema';

/** Characters of a run id shown to people (the CLI uses the same prefix length). */
export const SHORT_ID_LENGTH = 10;

export function shortRunId(runId: string): string {
  return runId.slice(0, SHORT_ID_LENGTH);
}

/** `0.42 s`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; `–` while unknown (still running). */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '–';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(2)} s`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 3600) {
    const minutes = Math.floor(seconds / 60);
    return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  }
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
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

/** Local date and time, for tooltips. */
export function formatTimestamp(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleString();
}

/** `digits` significant digits (six, like the kernel's text card); `nan`/`inf` as sent. */
export function formatMetric(
  value: MetricValue | null | undefined,
  digits = 6
): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value !== 'number') {
    return value;
  }
  if (Number.isInteger(value) && Math.abs(value) < 10 ** digits) {
    return String(value);
  }
  return Number(value.toPrecision(digits)).toString();
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
