// Reading a data file whole, safely: opened non-blocking (a FIFO or device never blocks the
// read), refused unless it is a regular file, and refused above a size bound before allocating.
import fs from 'node:fs';
import { UserInputError } from '../errors.js';
import { MAX_ALLOC_BYTES, mib } from '../limits.js';

/** Opens `file` for reading; a FIFO, device, socket or folder is refused with one line. */
export function openRegular(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const fix = code === 'ELOOP' ? ': a symlink loop; replace it with a data file' : code === 'ENOENT' ? ': not found or a broken symlink' : '';
    throw new UserInputError(`${file}: cannot read (${code ?? (e as Error).message})${fix}`, 1, { cause: e });
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new UserInputError(`${file}: not a regular file (${kindOf(st)}); a data folder holds only data files`);
  }
  return fd;
}

export function kindOf(st: fs.Stats): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a file';
}

/** The whole of a regular file, at most `limit` bytes. */
export function readRegularFile(file: string, limit = MAX_ALLOC_BYTES): Uint8Array {
  const fd = openRegular(file);
  try {
    const { size } = fs.fstatSync(fd);
    if (size > limit) throw new UserInputError(`${file}: ${mib(size)} is more than qtool reads at once (${mib(limit)}); split the data into smaller files`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, Math.min(size - done, 2 ** 30), done);
      if (n === 0) break;
      done += n;
    }
    return done === size ? buf : buf.subarray(0, done);
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new UserInputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1, { cause: e });
  } finally {
    fs.closeSync(fd);
  }
}
