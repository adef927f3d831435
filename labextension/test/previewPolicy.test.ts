import { describe, expect, it } from 'vitest';

import { IOpenView, placeView, twinOf } from '../src/previewPolicy';

const view = (keys: string[], pinned = false): IOpenView => ({ keys, pinned });

describe('placeView', () => {
  it('opens the first view of a kind in a new tab', () => {
    expect(placeView([], 'run-a')).toEqual({ action: 'open' });
  });

  it('replaces the preview tab with the next view asked for', () => {
    expect(placeView([view(['run-a'])], 'run-b')).toEqual({
      action: 'replace',
      index: 0
    });
  });

  it('opens a new tab only when every tab of the kind is pinned', () => {
    const open = [view(['run-a'], true), view(['run-b'], true)];
    expect(placeView(open, 'run-c')).toEqual({ action: 'open' });
    expect(placeView([...open, view(['run-c'])], 'run-d')).toEqual({
      action: 'replace',
      index: 2
    });
  });

  it('focuses a tab that shows the view already, by any of its keys', () => {
    const open = [view(['01HXYZ', 'latest'], true), view(['run-b'])];
    expect(placeView(open, 'latest')).toEqual({ action: 'reveal', index: 0 });
    expect(placeView(open, '01HXYZ')).toEqual({ action: 'reveal', index: 0 });
    expect(placeView(open, 'run-b')).toEqual({ action: 'reveal', index: 1 });
  });

  it('prefers the pinned tab when a preview shows the same view', () => {
    const open = [view(['run-a']), view(['run-a'], true)];
    expect(placeView(open, 'run-a')).toEqual({ action: 'reveal', index: 1 });
  });

  it('walking through ten runs keeps one tab', () => {
    let open: IOpenView[] = [];
    for (let i = 0; i < 10; i++) {
      const decision = placeView(open, `run-${i}`);
      if (decision.action === 'open') {
        open = [...open, view([`run-${i}`])];
      } else if (decision.action === 'replace') {
        open = open.map((v, j) =>
          j === decision.index ? view([`run-${i}`]) : v
        );
      }
    }
    expect(open).toEqual([view(['run-9'])]);
  });
});

describe('twinOf', () => {
  it('finds another view showing what a view resolved to', () => {
    const open = [view(['01HXYZ'], true), view(['latest', '01HXYZ'])];
    expect(twinOf(open, 1, '01HXYZ')).toBe(0);
    expect(twinOf(open, 0, '01HXYZ')).toBe(1);
    expect(twinOf([view(['01HXYZ'])], 0, '01HXYZ')).toBeNull();
  });
});
