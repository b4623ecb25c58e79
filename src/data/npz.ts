// NumPy .npz archives (numpy.savez / savez_compressed): a zip of `key.npy` members, stored or
// deflated. The whole archive is read and inflated at once: zip members cannot be sliced lazily.
import fs from 'node:fs';
import { unzipSync } from 'fflate';
import { UserInputError } from '../errors.js';
import { memorySource, type ArraySource } from './arrays.js';
import { decodeNpy } from './npy.js';

/** The arrays of an .npz file by key (member name without `.npy`), in archive order. */
export async function readNpzFile(file: string): Promise<Map<string, ArraySource>> {
  let zipped: Uint8Array;
  try {
    zipped = fs.readFileSync(file);
  } catch (e) {
    throw new UserInputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1, { cause: e });
  }
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(zipped);
  } catch (e) {
    throw new UserInputError(`${file}: not a valid .npz (zip) archive (${(e as Error).message}); save it with numpy.savez`, 1, { cause: e });
  }
  const out = new Map<string, ArraySource>();
  for (const [name, bytes] of Object.entries(members)) {
    if (name.endsWith('/')) continue;
    if (!name.endsWith('.npy')) {
      throw new UserInputError(`${file}: member '${name}' is not a .npy array; an .npz must hold only arrays (numpy.savez)`);
    }
    const label = `${file}[${name.slice(0, -4)}]`;
    const { header, data } = decodeNpy(bytes, label);
    out.set(name.slice(0, -4), memorySource({ file, dtype: header.dtype, dims: header.dims }, data));
  }
  if (out.size === 0) throw new UserInputError(`${file}: the archive holds no arrays`);
  return out;
}
