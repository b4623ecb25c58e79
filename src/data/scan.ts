// Finding the records of a data folder. Layouts (DESIGN.md, "Data folders"):
//   files:        *.npy | *.npz | *.pb | *.png/*.jpg/*.jpeg   one format per folder
//   test sets:    test_data_set_N/input_K.pb                   (N in numeric order; model.onnx beside them is ignored)
//   per input:    <input name>/<files>                         files zipped by position
// Order is deterministic: file names sort by their UTF-8 bytes (not locale), test_data_set_N by N.
// Ignored everywhere: dotfiles, README*, and labels* files. A path to a single data file also works.
import fs from 'node:fs/promises';
import path from 'node:path';
import { FIXED_FOLDER } from './fixed.js';
import { UserInputError } from '../errors.js';
import type { ValueInfo } from '../ir/index.js';
import { IMAGE_EXTENSIONS } from './image.js';
import { kindOf as fileKind } from './read.js';
import { checkPreprocessUse, resolveImagePlan, type PreprocessSpec } from './preprocess.js';
import { imageRecord, npyRecord, npzRecord, pbRecord, testSetRecord, zipRecord, type DataRecord } from './records.js';

type Kind = 'npy' | 'npz' | 'pb' | 'image';

const KIND_OF: Record<string, Kind> = {
  '.npy': 'npy', '.npz': 'npz', '.pb': 'pb', ...Object.fromEntries(IMAGE_EXTENSIONS.map((e) => [e, 'image' as const])),
};
const KIND_TEXT: Record<Kind, string> = { npy: '.npy', npz: '.npz', pb: '.pb', image: 'image' };
const SUPPORTED = '.npy, .npz, .pb (TensorProto), .png or .jpg';
const TEST_SET = /^test_data_set_(\d+)$/;

/** Byte order of the UTF-8 names: the same on every machine and locale. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isIgnored(name: string): boolean {
  return name.startsWith('.') || /^(readme|labels?)(\.|$)/i.test(name);
}

function kindOf(name: string): Kind | undefined {
  return KIND_OF[path.extname(name).toLowerCase()];
}

function quoted(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).map((s) => `'${s}'`).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/** Files and sub-folders of `dir` (symlinks followed), each sorted by byte order, ignored names left out. */
async function list(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'data folder not found' : code === 'ENOTDIR' ? 'not a folder' : `cannot read (${code ?? (e as Error).message})`;
    throw new UserInputError(`${dir}: ${why}`, 1, { cause: e });
  }
  const files: string[] = [], dirs: string[] = [];
  for (const e of entries.filter((e) => !isIgnored(e.name))) {
    const full = path.join(dir, e.name);
    let st: import('node:fs').Stats;
    try {
      st = await fs.stat(full); // symlinks resolved
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ELOOP' ? 'a symlink loop' : code === 'ENOENT' ? 'a broken symlink' : `cannot read (${code ?? (err as Error).message})`;
      throw new UserInputError(`${full}: ${why}; remove it or replace it with a data file`, 1, { cause: err });
    }
    if (st.isDirectory()) dirs.push(e.name);
    else if (st.isFile()) files.push(e.name);
    else throw new UserInputError(`${full}: not a regular file (${fileKind(st)}); a data folder holds only data files and folders, remove it`);
  }
  return { files: files.sort(byteOrder), dirs: dirs.sort(byteOrder) };
}

/** The one format of a list of file names, or an error naming unknown files or the mix. */
function classify(dir: string, names: readonly string[]): Kind {
  const unknown = names.filter((n) => kindOf(n) === undefined);
  if (unknown.length > 0) {
    throw new UserInputError(`${dir}: unknown file type${unknown.length > 1 ? 's' : ''} ${quoted(unknown)}; data files are ${SUPPORTED}`);
  }
  const counts = new Map<Kind, number>();
  for (const n of names) counts.set(kindOf(n)!, (counts.get(kindOf(n)!) ?? 0) + 1);
  if (counts.size > 1) {
    const mix = [...counts].map(([k, c]) => `${c} ${KIND_TEXT[k]}`).join(', ');
    throw new UserInputError(`${dir}: mixes formats (${mix} files); keep one format per folder`);
  }
  const [kind] = counts.keys();
  if (!kind) throw new UserInputError(`${dir}: the folder has no data files (${SUPPORTED})`);
  return kind;
}

function inputNames(inputs: readonly ValueInfo[]): string {
  return quoted(inputs.map((i) => i.name), Infinity);
}

function singleInputRecords(kind: Kind, files: string[], input: ValueInfo, spec: PreprocessSpec | undefined): DataRecord[] {
  checkPreprocessUse(path.dirname(files[0] ?? '.'), KIND_TEXT[kind], spec);
  switch (kind) {
    case 'npy': return files.map((f) => npyRecord(f, input));
    case 'pb': return files.map((f) => pbRecord(f, input));
    case 'npz': return files.map((f) => npzRecord(f, [input]));
    case 'image': {
      const plan = resolveImagePlan(spec, input, path.dirname(files[0] ?? '.'));
      return files.map((f) => imageRecord(f, input, plan));
    }
  }
}

function fileRecords(dir: string, kind: Kind, files: string[], inputs: readonly ValueInfo[], spec: PreprocessSpec | undefined): DataRecord[] {
  checkPreprocessUse(dir, KIND_TEXT[kind], spec);
  if (kind === 'npz') return files.map((f) => npzRecord(f, inputs));
  if (inputs.length > 1) {
    throw new UserInputError(
      `${dir}: the model has inputs ${inputNames(inputs)}, and ${KIND_TEXT[kind]} files hold one array each; ` +
        'use .npz files keyed by input name, one sub-folder per input, or test_data_set_N folders',
    );
  }
  return singleInputRecords(kind, files, inputs[0]!, spec);
}

async function perInputRecords(dir: string, inputs: readonly ValueInfo[], spec: PreprocessSpec | undefined): Promise<DataRecord[]> {
  const columns: DataRecord[][] = [];
  for (const input of inputs) {
    const sub = path.join(dir, input.name);
    const { files, dirs } = await list(sub);
    if (dirs.length > 0) throw new UserInputError(`${sub}: unexpected sub-folder${dirs.length > 1 ? 's' : ''} ${quoted(dirs)}; a per-input folder holds only data files`);
    const kind = classify(sub, files);
    if (kind === 'npz') throw new UserInputError(`${sub}: .npz files go at the top of the data folder, keyed by input name; per-input folders hold .npy, .pb or images`);
    columns.push(singleInputRecords(kind, files.map((f) => path.join(sub, f)), input, spec));
  }
  const lengths = columns.map((c) => c.length);
  if (lengths.some((n) => n !== lengths[0])) {
    const what = inputs.map((i, k) => `'${i.name}' has ${lengths[k]}`).join(', ');
    throw new UserInputError(`${dir}: the per-input sub-folders hold different numbers of files (${what}); each needs one file per sample position`);
  }
  return columns[0]!.map((_, n) => zipRecord(columns.map((c) => c[n]!)));
}

async function folderRecords(dir: string, inputs: readonly ValueInfo[], spec: PreprocessSpec | undefined): Promise<DataRecord[]> {
  const listed = await list(dir);
  const files = listed.files;
  const dirs = listed.dirs.filter((d) => d !== FIXED_FOLDER); // fixed inputs (fixed.ts)
  if (dirs.length === 0) return fileRecords(dir, classify(dir, files), files.map((f) => path.join(dir, f)), inputs, spec);
  if (dirs.every((d) => TEST_SET.test(d))) {
    const stray = files.filter((f) => path.extname(f).toLowerCase() !== '.onnx');
    if (stray.length > 0) throw new UserInputError(`${dir}: unexpected file${stray.length > 1 ? 's' : ''} ${quoted(stray)} beside the test_data_set_N folders`);
    checkPreprocessUse(dir, KIND_TEXT.pb, spec);
    const n = (d: string) => Number(TEST_SET.exec(d)![1]);
    return [...dirs].sort((a, b) => n(a) - n(b) || byteOrder(a, b)).map((d) => testSetRecord(path.join(dir, d), inputs));
  }
  const names = new Set(inputs.map((i) => i.name));
  const unknown = dirs.filter((d) => !names.has(d));
  if (unknown.length > 0) {
    throw new UserInputError(
      `${dir}: unexpected sub-folder${unknown.length > 1 ? 's' : ''} ${quoted(unknown)}; use one sub-folder per model input (${inputNames(inputs)}) or test_data_set_N folders`,
    );
  }
  if (files.length > 0) throw new UserInputError(`${dir}: mixes per-input sub-folders with files (${quoted(files)}); move the files into the sub-folders`);
  const missing = inputs.filter((i) => !dirs.includes(i.name));
  if (missing.length > 0) throw new UserInputError(`${dir}: no sub-folder for input ${inputNames(missing)}; add one folder per model input`);
  return perInputRecords(dir, inputs, spec);
}

/** The records of a data folder (or of a single data file), in order. */
export async function scanDataFolder(dir: string, inputs: readonly ValueInfo[], spec: PreprocessSpec | undefined): Promise<DataRecord[]> {
  const st = await fs.stat(dir).catch(() => undefined);
  if (st?.isFile()) {
    const kind = kindOf(dir);
    if (!kind) throw new UserInputError(`${dir}: unknown file type; data files are ${SUPPORTED}`);
    return fileRecords(dir, kind, [dir], inputs, spec);
  }
  return folderRecords(dir, inputs, spec);
}
