/**
 * Keyboard use of the runs list: one tab stop (roving tabindex); ArrowUp/ArrowDown/Home/
 * End/PageUp/PageDown move, Enter opens the run, Space toggles it in the selection.
 */
import * as React from 'react';

import type { RunSummary } from '../../api/schema';
import { RunsListModel } from '../../model';
import { ROW_HEIGHT, rowsPerPage } from './layout';
import { IViewport } from './useViewport';

export interface IRowKeyboardOptions {
  model: RunsListModel;
  runs: readonly RunSummary[];
  viewport: IViewport;
  /** The focused row's index (clamped to the list by the caller). */
  focusedIndex: number;
  setFocused: (index: number) => void;
  onOpen: (runId: string) => void;
}

/** The list's keydown handler; focuses a row scrolled into view once it has rendered. */
export function useRowKeyboard(
  options: IRowKeyboardOptions
): (event: React.KeyboardEvent) => void {
  const { model, runs, viewport, focusedIndex, setFocused, onOpen } = options;
  const focusAfterRender = React.useRef(false);

  // Keyboard moves focus to a row that may not have been rendered yet: focus it after render.
  React.useEffect(() => {
    if (!focusAfterRender.current) {
      return;
    }
    focusAfterRender.current = false;
    const run = runs[focusedIndex];
    const row = run
      ? viewport.scroller.current?.querySelector<HTMLElement>(
          `[data-run-id="${CSS.escape(run.id)}"]`
        )
      : null;
    row?.focus();
  });

  const moveFocus = (index: number): void => {
    const target = Math.max(0, Math.min(runs.length - 1, index));
    const node = viewport.scroller.current;
    if (node) {
      const top = target * ROW_HEIGHT;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + ROW_HEIGHT > node.scrollTop + node.clientHeight) {
        node.scrollTop = top + ROW_HEIGHT - node.clientHeight;
      }
      viewport.setScrollTop(node.scrollTop);
    }
    focusAfterRender.current = true;
    setFocused(target);
  };

  return (event: React.KeyboardEvent): void => {
    if (
      runs.length === 0 ||
      (event.target as HTMLElement).tagName === 'INPUT'
    ) {
      return;
    }
    const page = rowsPerPage(viewport.viewHeight);
    const run = runs[focusedIndex];
    switch (event.key) {
      case 'ArrowDown':
        moveFocus(focusedIndex + 1);
        break;
      case 'ArrowUp':
        moveFocus(focusedIndex - 1);
        break;
      case 'PageDown':
        moveFocus(focusedIndex + page);
        break;
      case 'PageUp':
        moveFocus(focusedIndex - page);
        break;
      case 'Home':
        moveFocus(0);
        break;
      case 'End':
        moveFocus(runs.length - 1);
        break;
      case 'Enter':
        if (run) {
          model.select(run.id);
          onOpen(run.id);
        }
        break;
      case ' ':
        if (run) {
          model.toggleSelected(run.id);
        }
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
  };
}
