import { describe, expect, it } from 'vitest';

import type { ServingArm, ServingEndpoint } from '../src/api/schema';
import { describeArm, servingVersion } from '../src/serving';

function arm(name: string, version: number | null, share: number): ServingArm {
  return {
    arm: name,
    ref: `churn@${name}`,
    model: 'churn',
    version,
    share,
    problem: null
  };
}

function endpoint(
  url: string,
  live: boolean,
  arms: ServingArm[]
): ServingEndpoint {
  return {
    id: url,
    reference: 'churn@production',
    url,
    host: 'h',
    port: 5001,
    pid: 1,
    started: 0,
    heartbeat: 0,
    live,
    requests: 0,
    requests_per_second: 0,
    arms
  };
}

describe('describeArm', () => {
  it.each([
    [arm('champion', 3, 0.9), 'champion v3 · 90%'],
    [arm('canary', 4, 0.125), 'canary v4 · 12.5%'],
    [arm('shadow', 4, 0), 'shadow v4 · mirror'],
    [arm('canary', null, 0), 'canary not loaded · 0%']
  ])('%o -> %s', (given, text) => {
    expect(describeArm(given)).toBe(text);
  });
});

describe('servingVersion', () => {
  const endpoints = [
    endpoint('http://a', true, [
      arm('champion', 1, 0.9),
      arm('canary', 2, 0.1)
    ]),
    endpoint('http://b', false, [arm('champion', 2, 1)]),
    endpoint('http://c', true, [arm('champion', 1, 1), arm('shadow', 2, 0)])
  ];

  it('names the live endpoints and arms serving a version', () => {
    expect(servingVersion(endpoints, 1)).toEqual([
      'http://a (champion)',
      'http://c (champion)'
    ]);
    // the silent endpoint b does not count; a shadow does
    expect(servingVersion(endpoints, 2)).toEqual([
      'http://a (canary)',
      'http://c (shadow)'
    ]);
    expect(servingVersion(endpoints, 3)).toEqual([]);
  });
});
