import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** Runs the built CLI as a user would. */
export function qtool(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), ...args], { encoding: 'utf8', cwd: opts.cwd, input: opts.input, env: opts.env ?? process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
