// Progress on STDERR, never stdout (stdout is for results and the --json line). On a terminal: a
// cli-progress bar with rate and ETA. Otherwise (CI logs, pipes): one plain line per ~10%.
// --quiet: nothing.
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  update(done: number, total: number): void;
  /** Ends the bar (or prints nothing more); safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is being counted down, e.g. 'calibrating'. */
  label: string;
  /** Unit of `done`/`total`, e.g. 'samples'. */
  unit?: string;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** When the counted work began (performance.now()); default: the first update. Rates count from here. */
  since?: number;
}

const NOOP: ProgressReporter = { update: () => {}, stop: () => {} };

export function createProgress(opts: ProgressOptions): ProgressReporter {
  if (opts.quiet) return NOOP;
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? barReporter(opts, stream) : lineReporter(opts, stream);
}

function barReporter(opts: ProgressOptions, stream: NodeJS.WriteStream): ProgressReporter {
  const unit = opts.unit ?? 'items';
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${opts.label} [{bar}] {percentage}% {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      barsize: 20,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let running = false;
  return {
    update(done, total) {
      if (!running) {
        bar.start(total, 0, { rate: '-' });
        started = opts.since ?? performance.now();
        running = true;
      }
      const seconds = (performance.now() - started) / 1000;
      bar.setTotal(total);
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(1) : '-' });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function lineReporter(opts: ProgressOptions, stream: NodeJS.WriteStream): ProgressReporter {
  const unit = opts.unit ?? 'items';
  let nextTenth = 1;
  let started = 0;
  return {
    update(done, total) {
      if (!started) started = opts.since ?? performance.now();
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 10;
      if (tenth < nextTenth) return;
      nextTenth = tenth + 1;
      const s = (performance.now() - started) / 1000;
      const rate = s > 0 ? done / s : 0;
      const eta = rate > 0 && done < total ? `, ETA ${Math.ceil((total - done) / rate)} s` : '';
      stream.write(`${opts.label.trimEnd()}: ${Math.round((100 * done) / total)}% (${done}/${total} ${unit})${rate > 0 ? `, ${rate.toFixed(1)} ${unit}/s` : ''}${eta}\n`);
    },
    stop() {},
  };
}
