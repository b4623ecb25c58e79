// A long-lived child of scripts/fuzz.mjs that runs many fuzz cases, one at a time, by calling the
// CLI's main() in this process: a fresh `node bin/qtool.js` spends ~0.55 s of CPU importing qtool
// before it reads its first byte, which is most of what a case costs (most cases end at the parse).
//
// A case is a message { id, dir, command }. The CLI runs with the case folder as cwd and
// process.stdout/stderr.write captured; what reaches file descriptor 2 natively (onnxruntime's own
// log) lands on this process's stderr, which the fuzzer reads up to the `\0END id\0` marker written
// after the case. Anything that would end a fresh qtool process (an uncaught exception, a
// rejection nobody handles, process.exit, a signal) ends this one the same way, and the fuzzer
// classifies it as the outcome of the case in flight. The fuzzer restarts the runner then, and
// after every few hundred cases so that nothing one case leaves in memory weighs on later ones.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
const { main } = await import(pathToFileURL(path.join(root, 'dist/cli/main.js')).href);
const home = process.cwd();
const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);

let stdout = '', stderr = '', inFlight = false;
// Ended in the middle of a case (process.exit, an uncaught exception): what the CLI had written
// goes to the real streams, where a fresh process would have put it.
process.on('exit', () => {
  if (!inFlight) return;
  fs.writeSync(1, stdout);
  fs.writeSync(2, stderr);
});
process.on('message', async (m) => {
  stdout = '';
  stderr = '';
  inFlight = true;
  const capture = (append) => (chunk, enc, cb) => {
    append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
  process.stdout.write = capture((s) => (stdout = (stdout + s).slice(-20000)));
  process.stderr.write = capture((s) => (stderr = (stderr + s).slice(-20000)));
  let code;
  try {
    process.chdir(m.dir);
    code = await main(m.command);
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.chdir(home);
  }
  inFlight = false;
  fs.writeSync(2, `\0END ${m.id}\0`);
  process.send({ id: m.id, code, stdout, stderr });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
