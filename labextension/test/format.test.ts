import { describe, expect, it } from 'vitest';

import {
  checkpointSourceLabel,
  EMPTY,
  errorMessage,
  eventReason,
  formatAge,
  formatDuration,
  formatMetric,
  formatSize,
  formatTime,
  ignoredRowsText,
  parseStoredJSON,
  SHORT_ID_LENGTH,
  shortDigest,
  shortRunId,
  statusLabel,
  withVisibleBidi
} from '../src/format';
import { MMApiError } from '../src/api/client';
import type { MetricValue } from '../src/api/schema';

describe('formatDuration', () => {
  it.each([
    [0, '0.00 s'],
    [0.42, '0.42 s'],
    [9.994, '9.99 s'],
    // rounds to 10.00: written with one decimal like every other value from ten seconds
    [9.996, '10.0 s'],
    [12.34, '12.3 s'],
    [59.94, '59.9 s'],
    [59.96, '1 min 00 s'],
    [60, '1 min 00 s'],
    [245, '4 min 05 s'],
    [245.4, '4 min 05 s'],
    [119.6, '2 min 00 s'],
    [3599.4, '59 min 59 s'],
    [3599.6, '1 h 00 min'],
    [3725, '1 h 02 min'],
    [3719, '1 h 01 min'],
    [36000 + 59 * 60 + 59, '10 h 59 min'],
    [100 * 3600, '100 h 00 min']
  ])('%s s reads %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -0.5])(
    '%s is unknown',
    seconds => {
      expect(formatDuration(seconds)).toBe(EMPTY);
    }
  );
});

describe('formatMetric', () => {
  it.each<[MetricValue, string]>([
    [0.123456789, '0.123457'],
    [1 / 3, '0.333333'],
    [42, '42'],
    [-7, '-7'],
    [999999, '999999'],
    [1234567, '1234570'],
    [1e-7, '1e-7'],
    [2.5e21, '2.5e+21'],
    ['nan', 'nan'],
    ['inf', 'inf'],
    ['-inf', '-inf']
  ])('%s reads %s', (value, text) => {
    expect(formatMetric(value)).toBe(text);
  });

  it('keeps fewer digits for narrow columns', () => {
    expect(formatMetric(0.123456789, 4)).toBe('0.1235');
    expect(formatMetric(12345, 4)).toBe('12350');
    expect(formatMetric(9999, 4)).toBe('9999');
  });

  it('shows one empty value for a missing metric', () => {
    expect(formatMetric(null)).toBe(EMPTY);
    expect(formatMetric(undefined)).toBe(EMPTY);
    expect(EMPTY).toBe('—');
  });
});

describe('run ids and digests', () => {
  const id = '01JF7ZQ9K3X5V8M2N4P6R8T0WY';

  it('shortens run ids to the CLI prefix', () => {
    expect(SHORT_ID_LENGTH).toBe(10);
    expect(shortRunId(id)).toBe('01JF7ZQ9K3');
    expect(shortRunId('abc')).toBe('abc');
  });

  it('keeps the algorithm and twelve characters of a digest', () => {
    expect(shortDigest(`blake3:${'ab'.repeat(32)}`)).toBe(
      'blake3:abababababab'
    );
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab');
    expect(shortDigest(null)).toBe(EMPTY);
    expect(shortDigest('')).toBe(EMPTY);
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [1536, '1.5 KB'],
    [5 * 1024 ** 3, '5.0 GB'],
    [3 * 1024 ** 5, '3072.0 TB']
  ])('%s bytes reads %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('is empty when the size is unknown', () => {
    expect(formatSize(null)).toBe(EMPTY);
  });
});

describe('times', () => {
  const now = Date.UTC(2026, 0, 10, 12, 0, 0);
  const ago = (seconds: number): number => now / 1000 - seconds;

  it.each([
    [0, 'now'],
    [59, 'now'],
    [60, '1m'],
    [3599, '59m'],
    [3600, '1h'],
    [86400 * 2 + 5, '2d'],
    [86400 * 7 * 3, '3w'],
    [86400 * 400, '1y']
  ])('%s s ago reads %s', (seconds, text) => {
    expect(formatAge(ago(seconds), now)).toBe(text);
  });

  it('reads a start time in the future (clock skew) as now', () => {
    expect(formatAge(ago(-30), now)).toBe('now');
  });

  it('writes a timestamp in local time, and nothing for none', () => {
    const epoch = 1_750_000_000;
    expect(formatTime(epoch)).toBe(new Date(epoch * 1000).toLocaleString());
    expect(formatTime(null)).toBe(EMPTY);
    expect(formatTime(0)).toBe(EMPTY);
  });
});

describe('statusLabel', () => {
  it('names each status and passes unknown ones through', () => {
    expect(statusLabel('running')).toBe('Running');
    expect(statusLabel('crashed')).toBe(
      'Crashed (the kernel died during the run)'
    );
    expect(statusLabel('queued')).toBe('queued');
  });
});

describe('errorMessage', () => {
  it("is the server's sentence for an API error", () => {
    const error = new MMApiError(409, 'Version 3 misses the gate acc >= 0.9.');
    expect(errorMessage(error)).toBe('Version 3 misses the gate acc >= 0.9.');
  });

  it('is the text of anything else thrown', () => {
    expect(errorMessage('offline')).toBe('offline');
    expect(errorMessage(404)).toBe('404');
  });
});

describe('checkpointSourceLabel', () => {
  it.each([
    ['live', 'live notebook (unsaved edits included)'],
    ['headless', 'notebook file as executed headless by jupyter mm run'],
    ['papermill', 'notebook as executed by papermill (jupyter_mm engine)'],
    ['history', 'kernel history (no notebook found)'],
    ['from-a-newer-version', 'from-a-newer-version'],
    [null, 'unknown source']
  ])('%s reads as %s', (source, words) => {
    expect(checkpointSourceLabel(source)).toBe(words);
  });
});

describe('eventReason', () => {
  const evidence = JSON.stringify({
    summary: 'churn v2: accuracy < 0.9',
    rule: 'r'
  });
  it('shows the summary of an alert, not its JSON evidence', () => {
    expect(eventReason({ action: 'alert', reason: evidence })).toBe(
      'churn v2: accuracy < 0.9'
    );
    expect(eventReason({ action: 'retrain', reason: evidence })).toBe(
      'churn v2: accuracy < 0.9'
    );
  });
  it('keeps every other reason as it is, JSON-looking or not', () => {
    expect(eventReason({ action: 'transition', reason: evidence })).toBe(
      evidence
    );
    expect(eventReason({ action: 'alert', reason: '{not json' })).toBe(
      '{not json'
    );
    expect(eventReason({ action: 'alert', reason: '["a"]' })).toBe('["a"]');
    expect(eventReason({ action: 'alert', reason: '{"summary": 3}' })).toBe(
      '{"summary": 3}'
    );
    expect(eventReason({ action: 'alert', reason: null })).toBe('');
  });
});

describe('ignoredRowsText', () => {
  const none = {
    ignored_labels: 0,
    ignored_label_writers: [],
    ignored_batches: 0,
    ignored_batch_writers: []
  };
  it('says nothing when nothing was ignored', () => {
    expect(ignoredRowsText(none)).toBeNull();
  });
  it('names what was ignored and whose it was', () => {
    expect(
      ignoredRowsText({
        ...none,
        ignored_labels: 40,
        ignored_label_writers: ['mallory', 'eve']
      })
    ).toBe('40 labels from mallory, eve');
    expect(
      ignoredRowsText({
        ignored_labels: 2,
        ignored_label_writers: ['eve'],
        ignored_batches: 1,
        ignored_batch_writers: ['mallory']
      })
    ).toBe('2 labels from eve and 1 prediction batches from mallory');
  });
});

describe('withVisibleBidi', () => {
  it('shows bidi controls as escapes, nothing else changes', () => {
    expect(withVisibleBidi('abc\u202etxt.exe')).toBe('abc\\u202etxt.exe');
    expect(withVisibleBidi('\u2067x\u2069 é 日本 ✓')).toBe(
      '\\u2067x\\u2069 é 日本 ✓'
    );
    expect(withVisibleBidi('plain')).toBe('plain');
  });
  it('applies to every string of a server answer, keys too, raw or escaped', () => {
    const raw = JSON.stringify({
      name: 'a\u202eb',
      metrics: { 'm\u202e': 1 },
      n: 2
    });
    const escaped = '{"name": "a\\u202eb", "list": ["\\u2066x"]}';
    expect(parseStoredJSON(raw)).toEqual({
      name: 'a\\u202eb',
      metrics: { 'm\\u202e': 1 },
      n: 2
    });
    expect(parseStoredJSON(escaped)).toEqual({
      name: 'a\\u202eb',
      list: ['\\u2066x']
    });
    expect(parseStoredJSON('{"a": [1, null, true]}')).toEqual({
      a: [1, null, true]
    });
  });
});
