/**
 * A real Jupyter server with the jupyter_mm server extension, for tests of the lab
 * extension's API-facing code. Its store is a fresh SQLite file named by
 * `JUPYTER_MM_STORE`; `env` carries the same variables so that Python helpers started by
 * the test write into that store.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ServerConnection } from '@jupyterlab/services';

import { PYTHON } from './python';

/** How long the server may take to answer its first request (a cold start is ~5 s). */
const START_TIMEOUT_MS = 90_000;

export interface ITestServer {
  /** The server's root_dir (notebook paths of the runs are under it). */
  root: string;
  /** Environment of the server, for Python helpers that must use the same store. */
  env: NodeJS.ProcessEnv;
  settings: ServerConnection.ISettings;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port'))
      );
    });
  });
}

async function waitUntilAnswering(
  url: string,
  child: ChildProcess,
  logPath: string
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      break;
    }
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  throw new Error(
    `jupyter server did not answer ${url}:\n${readFileSync(logPath, 'utf8')}`
  );
}

export async function startServer(): Promise<ITestServer> {
  const base = mkdtempSync(join(tmpdir(), 'jupyter-mm-ts-'));
  const root = join(base, 'root');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_CONFIG_DIR: join(base, 'config'),
    JUPYTER_RUNTIME_DIR: join(base, 'runtime'),
    JUPYTER_MM_STORE: `sqlite:///${join(base, 'mm.db')}`
  };
  delete env.JUPYTER_MM_ARTIFACTS;
  const port = await freePort();
  const token = `t${Math.random().toString(16).slice(2)}`;
  const logPath = join(base, 'server.log');
  const log = openSync(logPath, 'w');
  mkdirSync(root);
  const child = spawn(
    PYTHON,
    [
      '-m',
      'jupyter_server',
      '--no-browser',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${root}`,
      '--allow-root'
    ],
    { cwd: root, env, stdio: ['ignore', log, log] }
  );
  const baseUrl = `http://127.0.0.1:${port}/`;
  await waitUntilAnswering(
    `${baseUrl}api/status?token=${token}`,
    child,
    logPath
  );
  return {
    root,
    env,
    settings: ServerConnection.makeSettings({
      baseUrl,
      wsUrl: `ws://127.0.0.1:${port}/`,
      token,
      appendToken: false
    }),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    }
  };
}
