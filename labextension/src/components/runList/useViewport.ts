/**
 * The scroll state of the virtualized runs list: where the view is, how tall it is, and
 * how it moves when the list changes under it.
 */
import * as React from 'react';

import { RunsListModel } from '../../model';
import { ROW_HEIGHT } from './layout';

export interface IViewport {
  scroller: React.RefObject<HTMLDivElement>;
  scrollTop: number;
  setScrollTop: (top: number) => void;
  viewHeight: number;
  /** Inner width of the scroller (without its scrollbar): what the columns share. */
  viewWidth: number;
}

/**
 * Follow the scroller's position and height. `setFocused` moves the keyboard focus with
 * the rows: down when a refresh inserted rows above, to the top when the list starts over.
 */
export function useViewport(
  model: RunsListModel,
  setFocused: React.Dispatch<React.SetStateAction<number>>
): IViewport {
  const scroller = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewHeight, setViewHeight] = React.useState(400);
  const [viewWidth, setViewWidth] = React.useState(245);

  // Track the viewport height (the sidebar is resized, the window too).
  React.useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const measure = (): void => {
      setViewHeight(node.clientHeight);
      setViewWidth(node.clientWidth);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  // A refresh put rows above the first one: move down by as much, so the rows the user is
  // looking at stay put — unless they are at the very top, where new runs should show.
  React.useEffect(() => {
    const onInserted = (_: RunsListModel, count: number): void => {
      const node = scroller.current;
      if (node && count > 0 && node.scrollTop > 0) {
        node.scrollTop += count * ROW_HEIGHT;
        setFocused(index => index + count);
      }
    };
    model.rowsInserted.connect(onInserted);
    return () => {
      model.rowsInserted.disconnect(onInserted);
    };
  }, [model, setFocused]);

  // New filters start a new list: back to its top (the browser would only clamp the old
  // offset, and may not even report that as a scroll).
  React.useEffect(() => {
    if (scroller.current) {
      scroller.current.scrollTop = 0;
    }
    setScrollTop(0);
    setFocused(0);
  }, [model.generation, setFocused]);

  return { scroller, scrollTop, setScrollTop, viewHeight, viewWidth };
}
