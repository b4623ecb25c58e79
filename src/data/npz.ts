// NumPy .npz archives (numpy.savez / savez_compressed): a zip of `key.npy` members, stored or
// deflated. Members are inflated as a stream and checked while they grow: the declared size must
// be within a budget, the .npy header (read from the first inflated bytes) must agree with the
// declared size, and a member that inflates past what it declared is stopped. So a small archive
// that would inflate to gigabytes is refused before it allocates them.
import { Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { UserInputError } from '../errors.js';
import { MAX_ALLOC_BYTES, mib } from '../limits.js';
import { memorySource, type ArraySource } from './arrays.js';
import { decodeNpy, npyDataBytes, parseNpyHeader } from './npy.js';
import { readRegularFile } from './read.js';

/** Inflated bytes all members of one archive may take together. */
export const MAX_NPZ_BYTES = 2 ** 31;

interface Member {
  name: string;
  chunks: Uint8Array[];
  bytes: number;
  declared?: number;
  checked: boolean;
}

function bomb(file: string, what: string): UserInputError {
  return new UserInputError(`${file}: ${what}; save smaller arrays with numpy.savez`);
}

function inflateMembers(file: string, zipped: Uint8Array, budget: number): Member[] {
  const members: Member[] = [];
  let total = 0;
  let failure: Error | undefined;
  const unzip = new Unzip((f) => {
    if (failure) return;
    const m: Member = { name: f.name, chunks: [], bytes: 0, declared: f.originalSize, checked: false };
    members.push(m);
    if (m.declared !== undefined && total + m.declared > budget) {
      failure = bomb(file, `member '${f.name}' declares ${mib(m.declared)}, over the ${mib(budget)} an archive may inflate to`);
      return;
    }
    f.ondata = (err, chunk) => {
      if (failure) return;
      if (err) {
        failure = new UserInputError(`${file}: not a valid .npz (zip) archive (${err.message}); save it with numpy.savez`);
        return;
      }
      m.chunks.push(chunk);
      m.bytes += chunk.byteLength;
      total += chunk.byteLength;
      if ((m.declared !== undefined && m.bytes > m.declared) || total > budget) {
        failure = bomb(file, `member '${f.name}' inflates past ${m.declared !== undefined && m.bytes > m.declared ? `its declared ${m.declared} bytes` : `the ${mib(budget)} an archive may take`}`);
        f.terminate();
        return;
      }
      if (!m.checked && f.name.endsWith('.npy') && m.bytes >= Math.min(512, m.declared ?? 512)) {
        m.checked = true;
        const head = m.chunks.length === 1 ? m.chunks[0]! : concat(m.chunks, m.bytes);
        try {
          const h = parseNpyHeader(head, `${file}[${f.name.slice(0, -4)}]`);
          const need = h.dataOffset + npyDataBytes(h);
          if (need > budget) throw bomb(file, `member '${f.name}' holds an array of ${mib(need)}, over the ${mib(budget)} an archive may take`);
          if (m.declared !== undefined && m.declared !== need) {
            throw new UserInputError(`${file}: member '${f.name}' declares ${m.declared} bytes but its .npy header needs ${need}; the archive is corrupt, save it again with numpy.savez`);
          }
        } catch (e) {
          failure = e as Error;
          f.terminate();
        }
      }
    };
    try {
      f.start();
    } catch (e) {
      failure = new UserInputError(`${file}: member '${f.name}' uses an unsupported zip compression (${(e as Error).message}); save it with numpy.savez or savez_compressed`);
    }
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    unzip.push(zipped, true);
  } catch (e) {
    failure ??= new UserInputError(`${file}: not a valid .npz (zip) archive (${(e as Error).message}); save it with numpy.savez`, 1, { cause: e });
  }
  if (failure) throw failure;
  return members;
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The arrays of an .npz file by key (member name without `.npy`), in archive order. */
export async function readNpzFile(file: string, budget = Math.min(MAX_NPZ_BYTES, MAX_ALLOC_BYTES)): Promise<Map<string, ArraySource>> {
  const zipped = readRegularFile(file);
  const out = new Map<string, ArraySource>();
  for (const m of inflateMembers(file, zipped, budget)) {
    if (m.name.endsWith('/')) continue;
    if (!m.name.endsWith('.npy')) {
      throw new UserInputError(`${file}: member '${m.name}' is not a .npy array; an .npz must hold only arrays (numpy.savez)`);
    }
    const bytes = concat(m.chunks, m.bytes);
    m.chunks = [];
    const label = `${file}[${m.name.slice(0, -4)}]`;
    const { header, data } = decodeNpy(bytes, label);
    out.set(m.name.slice(0, -4), memorySource({ file, dtype: header.dtype, dims: header.dims }, data));
  }
  if (out.size === 0) throw new UserInputError(`${file}: the archive holds no arrays`);
  return out;
}
