/**
 * What every command module shares: reading command arguments (which may come from the
 * palette, a keyboard shortcut or another extension, so they are read defensively) and
 * putting commands in the palette.
 */
import { ICommandPalette } from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

/** Command palette category of every jupyter-mm command. */
const PALETTE_CATEGORY = 'Model management';

/** A non-empty string argument, or null. */
export function stringArg(
  args: ReadonlyPartialJSONObject,
  name: string
): string | null {
  const value = args[name];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** A positive integer argument (numbers or their text), or null. */
export function numberArg(
  args: ReadonlyPartialJSONObject,
  name: string
): number | null {
  const value = Number(args[name]);
  return Number.isInteger(value) && value > 0 ? value : null;
}

/** Whether the command asks to pin the view it opens (`pinned: true`, e.g. on restore). */
export function pinnedArg(args: ReadonlyPartialJSONObject): boolean {
  return args['pinned'] === true;
}

/** List commands in the palette under the jupyter-mm category (no-op without a palette). */
export function addToPalette(
  palette: ICommandPalette | null,
  commands: readonly string[]
): void {
  for (const command of commands) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}
