/**
 * MIME renderer extension for the run card (`RUN_MIME_TYPE` in tokens.ts).
 * JupyterLab loads this entry point separately from the plugins in index.ts
 * (package.json `jupyterlab.mimeExtension`).
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { rendererFactory } from './widgets/runCard';

const runCardExtension: IRenderMime.IExtension = {
  id: 'jupyter-mm:run-card',
  description: 'Renders the card a %%track cell shows for its run.',
  rendererFactory,
  // Below the HTML renderer's rank (50), so JupyterLab prefers the card over the bundle's
  // text/html fallback, which other frontends show.
  rank: 0,
  dataType: 'json'
};

const extensions: IRenderMime.IExtension[] = [runCardExtension];

export default extensions;
