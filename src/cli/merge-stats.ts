import { Option, type Command } from 'commander';
import { mergeStatsFiles } from '../index.js';
import { ALGOS, percentileArg, renderRanges } from './calibrate.js';
import { runCommand, stdio } from './run.js';

interface Flags {
  output: string;
  algo?: (typeof ALGOS)[number];
  percentile?: number;
  json?: boolean;
  debug?: boolean;
}

export function registerMergeStats(program: Command, setExit: (code: number) => void): void {
  program
    .command('merge-stats')
    .description('merge stats files of disjoint data shards exactly (the same stats as calibrating all the data at once)')
    .argument('<stats...>', 'stats files written by qtool calibrate on the same model')
    .requiredOption('-o, --output <stats.json>', 'merged stats file to write')
    .addOption(new Option('--algo <algo>', 'store the ranges this algorithm picks from the merged stats').choices(ALGOS))
    .option('--percentile <P>', 'percentile algorithm: kept percentile (default 99.999)', percentileArg)
    .option('--json', 'print one JSON summary object as the last line of stdout')
    .option('--debug', 'show stack traces on errors')
    .action(async (files: string[], flags: Flags) => {
      setExit(await runCommand(async () => {
        const config = flags.algo ? { algo: flags.algo, percentile: flags.percentile } : undefined;
        const merged = mergeStatsFiles(files, flags.output, { config });
        const tensors = Object.keys(merged.tensors).length;
        if (flags.json) {
          stdio.out(JSON.stringify({ stats: flags.output, inputs: files.length, model: merged.model.file, samples: merged.samples, tensors, algo: merged.rangeConfig?.algo ?? null }));
          return;
        }
        stdio.out(`merged ${files.length} stats files (${merged.samples} samples, ${tensors} tensors of ${merged.model.file}) → ${flags.output}`);
        if (merged.ranges) stdio.out(renderRanges(merged));
      }, { debug: !!flags.debug, json: !!flags.json }));
    });
}
