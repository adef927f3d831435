/**
 * Checks at start-up that the jupyter-mm server extension answers, and reports which store
 * it reads. A missing or failing server extension is logged, never thrown: the rest of
 * JupyterLab must keep working without it.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { fetchServerInfo } from '../api/client';
import { CONNECTION_PLUGIN_ID } from '../tokens';

export const connectionPlugin: JupyterFrontEndPlugin<void> = {
  id: CONNECTION_PLUGIN_ID,
  description: 'Connects JupyterLab to the jupyter-mm server extension.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    // Logged so that a user (and tests/server/test_lab_loads_extension.py) can see the
    // extension is installed even when its server side is missing.
    console.log(`${CONNECTION_PLUGIN_ID} is activated`);
    void app.started
      .then(() => fetchServerInfo(app.serviceManager.serverSettings))
      .then(info => {
        console.log(
          `jupyter-mm ${info.version}: store ${info.store} (${
            info.schema_version === null
              ? 'not created yet: nothing recorded'
              : `schema ${info.schema_version}`
          })`
        );
      })
      .catch(reason => {
        console.warn(
          `jupyter-mm: the server extension did not answer: ${reason}`
        );
      });
  }
};
