import { describe, expect, it } from 'vitest';

import type { Event } from '../src/api/schema';
import { refusalIsCurrent } from '../src/registryState';

function event(id: number, action: string): Event {
  return {
    id,
    time: id,
    user: 'ann',
    action,
    model: 'churn',
    version: 2,
    from_stage: 'staging',
    to_stage: 'production',
    reason: null
  };
}

describe('refusalIsCurrent', () => {
  it('holds while the refused transition is the newest record', () => {
    expect(
      refusalIsCurrent([event(1, 'register'), event(2, 'transition_refused')])
    ).toBe(true);
  });

  it('is stale once anything changed the model after it', () => {
    const events = [event(1, 'transition_refused'), event(2, 'transition')];
    expect(refusalIsCurrent(events)).toBe(false);
    expect(
      refusalIsCurrent([event(1, 'transition_refused'), event(2, 'alias')])
    ).toBe(false);
    expect(refusalIsCurrent([])).toBe(false);
  });
});
