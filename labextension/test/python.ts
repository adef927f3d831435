/**
 * Helpers for tests that check the lab extension against the project's Python side: the
 * interpreter is the one the project is installed in (`PYTHON`, else `python` on PATH, as
 * in the virtualenv `jlpm` itself runs from).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createInterface, Interface } from 'node:readline';

export const PYTHON = process.env.PYTHON || 'python';

/** A Python script answering one JSON line on stdout per JSON line written to its stdin. */
export class JsonLineProcess {
  constructor(script: string, env: NodeJS.ProcessEnv = process.env) {
    this._child = spawn(PYTHON, [script], {
      env,
      stdio: ['pipe', 'pipe', 'pipe']
    });
    this._child.stderr?.on('data', chunk => {
      this._stderr += String(chunk);
    });
    this._lines = createInterface({ input: this._child.stdout! });
    this._lines.on('line', line => {
      const waiting = this._waiting.shift();
      waiting?.resolve(JSON.parse(line));
    });
    this._child.on('exit', code => {
      for (const waiting of this._waiting.splice(0)) {
        waiting.reject(
          new Error(`${script} exited with ${code}:\n${this._stderr}`)
        );
      }
    });
  }

  ask<T>(request: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this._waiting.push({
        resolve: resolve as (value: unknown) => void,
        reject
      });
      this._child.stdin!.write(JSON.stringify(request) + '\n');
    });
  }

  close(): void {
    this._lines.close();
    this._child.stdin?.end();
    this._child.kill();
  }

  private _child: ChildProcess;
  private _lines: Interface;
  private _stderr = '';
  private _waiting: {
    resolve: (value: unknown) => void;
    reject: (error: Error) => void;
  }[] = [];
}
