/**
 * The MIME renderer entry point of the extension (package.json
 * `jupyterlab.mimeExtension`), loaded by JupyterLab separately from the plugins of index.ts.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { runCardExtension } from './plugins/runCard';

const extensions: IRenderMime.IExtension[] = [runCardExtension];

export default extensions;
