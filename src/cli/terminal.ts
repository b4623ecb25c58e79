// What a run shows on the terminal: each phase with its elapsed time, a bar with rate and ETA
// wherever a phase loops over samples, and text wrapped to the terminal width (80 when stdout is
// not a terminal). Progress goes to STDERR; stdout keeps results and the --json line.
import type { PhaseEvent, Progress } from '../index.js';
import { createProgress, type ProgressReporter } from './progress.js';

/** Columns to wrap to: the terminal's, or 80 when the stream is not a terminal. */
export function columns(stream: NodeJS.WriteStream = process.stdout): number {
  return stream.isTTY && stream.columns ? Math.max(40, stream.columns) : 80;
}

/** A table row: cells separated by runs of two or more spaces. */
const isTableRow = (line: string) => (line.trim().match(/\S {2,}\S/g) ?? []).length >= 2;

/**
 * Wraps each line at spaces to `width`; continuation lines are indented two past the line's own
 * indent. Table rows are cut with '…' instead (wrapped columns cannot be read); the JSON, Markdown
 * and HTML reports keep every cell whole.
 */
export function wrap(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= width) {
      out.push(line);
      continue;
    }
    if (isTableRow(line)) {
      out.push(`${line.slice(0, width - 1)}…`);
      continue;
    }
    const indent = line.match(/^ */)![0].length;
    const pad = ' '.repeat(Math.min(indent + 2, Math.floor(width / 2)));
    let rest = line;
    let first = true;
    while (rest.length > width) {
      const room = width;
      let cut = rest.lastIndexOf(' ', room);
      if (cut <= (first ? indent : pad.length)) cut = rest.indexOf(' ', room);
      if (cut < 0) break;
      out.push(rest.slice(0, cut).trimEnd());
      rest = pad + rest.slice(cut + 1).trimStart();
      first = false;
    }
    out.push(rest);
  }
  return out.join('\n');
}

export const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : ms < 600_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

const VERIFY_STEPS: Record<Progress['phase'], string> = { evaluate: 'verify: outputs and layers', layers: 'verify: per-layer', latency: 'verify: latency' };

export interface PhaseView {
  onPhase(e: PhaseEvent): void;
  /** Calibration samples (the calibrate phase's loop). */
  onCalibration(done: number, total: number): void;
  /** Verification loops (outputs, per-layer passes, latency rounds). */
  onVerify(p: Progress): void;
  /** Elapsed milliseconds per finished phase, in order. */
  readonly times: [string, number][];
  stop(): void;
}

/** Phase lines and bars on `stream`; `quiet` prints nothing but still records the times. */
export function phaseView(opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): PhaseView {
  const stream = opts.stream ?? process.stderr;
  const times: [string, number][] = [];
  let bar: ProgressReporter | undefined;
  let barLabel = '';
  /** When the work the next bar counts began: the last phase start or the end of the previous bar. */
  let mark = performance.now();
  /** Time of the last bar update: a bar is stopped lazily (at the next bar's first update), and the next loop began here. */
  let last = mark;
  const stopBar = () => {
    if (bar) mark = last;
    bar?.stop();
    bar = undefined;
    barLabel = '';
  };
  const useBar = (label: string, unit: string) => {
    if (barLabel !== label) {
      stopBar();
      barLabel = label;
      bar = createProgress({ label: label.padEnd(9), unit, quiet: opts.quiet, stream, since: mark });
    }
    return bar!;
  };
  return {
    onPhase(e) {
      if (e.state !== 'end') {
        mark = last = performance.now();
        return;
      }
      stopBar();
      times.push([e.phase, e.ms ?? 0]);
      if (!opts.quiet) stream.write(`${e.phase.padEnd(9)} done in ${seconds(e.ms ?? 0)}\n`);
    },
    onCalibration(done, total) {
      useBar('calibrate', 'samples').update(done, total);
      last = performance.now();
    },
    onVerify(p) {
      useBar(VERIFY_STEPS[p.phase] ?? `verify: ${p.phase}`, p.phase === 'latency' ? 'batch sizes' : 'samples').update(p.done, p.total);
      last = performance.now();
    },
    times,
    stop: stopBar,
  };
}
