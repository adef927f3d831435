/**
 * MIME renderer extension for `application/vnd.jupyter-mm.run+json` (the run card).
 * JupyterLab loads this entry point separately from the plugins in index.ts
 * (package.json `jupyterlab.mimeExtension`). The renderer itself lives in
 * widgets/runCard.ts; until it lands, the text/plain fallback of the bundle shows.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

const extensions: IRenderMime.IExtension[] = [];

export default extensions;
