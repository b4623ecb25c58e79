// What the corpus scripts share: finding models in a folder tree and a pool of worker processes
// that take one item at a time (a worker that dies or hangs is replaced, and its item gets a
// failure result). The worker side answers `process.on('message', ({ index, ...item }) => …)` with
// `process.send({ index, result })`.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Files below `dir` (recursively, sorted) whose path satisfies `pred`; [] when `dir` is missing. */
export function findFiles(dir, pred) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && pred(p)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Runs `items` through `jobs` forked copies of `script` (started with `args`), one item per worker
 * at a time, and resolves with the results in item order.
 * - `send(item, index)` → the message for the worker (default: `{ index, ...item }`);
 * - `failed(item, why)` → the result recorded when the worker hangs past `timeoutMs` or dies;
 * - `progress(result, done, total)` is called after each item.
 * A worker that dies before any worker has answered most likely cannot start at all (dist/ missing
 * or a broken import): the pool rejects instead of failing every item the same way.
 */
export function runPool({ script, args = [], items, jobs, timeoutMs, send, failed, progress }) {
  const message = send ?? ((item, index) => ({ index, ...item }));
  return new Promise((resolve, reject) => {
    const results = new Array(items.length);
    let next = 0;
    let done = 0;
    let anyAnswered = false;
    let stopped = false;
    if (items.length === 0) return resolve(results);
    const finish = (i, r) => {
      results[i] = r;
      done++;
      progress?.(r, done, items.length);
      if (done === items.length) resolve(results);
    };
    const startWorker = () => {
      if (stopped) return;
      const child = fork(script, args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      let current = -1;
      let timer;
      const give = () => {
        if (next >= items.length) {
          child.kill();
          return;
        }
        current = next++;
        stderr = '';
        timer = setTimeout(() => {
          const i = current;
          current = -1;
          child.kill('SIGKILL');
          finish(i, failed(items[i], `timed out after ${timeoutMs / 1000} s`));
          startWorker();
        }, timeoutMs);
        child.send(message(items[current], current));
      };
      child.on('message', (msg) => {
        if (msg.index !== current) return;
        clearTimeout(timer);
        anyAnswered = true;
        current = -1;
        finish(msg.index, msg.result);
        give();
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (current < 0) return;
        const how = signal ?? `exit ${code}`;
        if (!anyAnswered) {
          stopped = true;
          reject(new Error(`a worker process died before answering (${how}) on item ${current}:\n${stderr}`));
          return;
        }
        const i = current;
        current = -1;
        const tail = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
        finish(i, failed(items[i], `worker process died (${how})${tail ? `: ${tail.slice(0, 300)}` : ''}`));
        startWorker();
      });
      give();
    };
    for (let j = 0; j < Math.min(jobs, items.length); j++) startWorker();
  });
}

/** A progress callback: every result when verbose (or when `always(result)`), else a count every 10 s. */
export function progressPrinter(verbose, line, always = () => false) {
  let last = Date.now();
  return (r, done, total) => {
    if (verbose || always(r)) console.log(`  [${done}/${total}] ${line(r)}`);
    else if (Date.now() - last > 10_000) {
      last = Date.now();
      console.log(`  … ${done}/${total}`);
    }
  };
}

/**
 * The sweeps' arguments: --jobs N (default QTOOL_SWEEP_JOBS or min(cores, 4)), --filter SUBSTRING,
 * --verbose, plus the boolean `flags` a script adds (e.g. ['cli', 'newer'] for --cli, --newer).
 * An unknown argument exits 2 with one line naming the script.
 */
export function parseSweepArgs(script, argv, flags = []) {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const out = { jobs: Number(process.env.QTOOL_SWEEP_JOBS) || Math.min(cores, 4), filter: undefined, verbose: false };
  for (const f of flags) out[f] = false;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (argv[i] === '--jobs') out.jobs = Number(argv[++i]);
    else if (argv[i] === '--filter') out.filter = argv[++i];
    else if (argv[i] === '--verbose') out.verbose = true;
    else if (argv[i].startsWith('--') && flags.includes(name)) out[name] = true;
    else {
      const known = ['--jobs N', '--filter SUBSTRING', '--verbose', ...flags.map((f) => `--${f}`)].join(', ');
      console.error(`${script}: unknown argument '${argv[i]}' (use ${known})`);
      process.exit(2);
    }
  }
  return out;
}
