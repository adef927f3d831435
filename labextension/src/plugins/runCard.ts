/**
 * The run card: the MIME renderer of the output a `%%track` cell shows
 * (`RUN_MIME_TYPE`). JupyterLab loads it from its own entry point (mime.ts, package.json
 * `jupyterlab.mimeExtension`) and creates renderers without the application, so the card
 * talks to the other features through DOM events (tokens.ts `DOMEvents`).
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { RUN_CARD_EXTENSION_ID } from '../tokens';
import { rendererFactory } from '../widgets/runCard';

export const runCardExtension: IRenderMime.IExtension = {
  id: RUN_CARD_EXTENSION_ID,
  description: 'Renders the card a %%track cell shows for its run.',
  rendererFactory,
  // Below the HTML renderer's rank (50), so JupyterLab prefers the card over the bundle's
  // text/html fallback, which other frontends show.
  rank: 0,
  dataType: 'json'
};
