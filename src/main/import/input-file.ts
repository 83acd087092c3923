import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { decodeImportText } from './text-encoding';

/**
 * The largest file an import reads. The release's 1,331-frame story_js is about 1 MB and our film documents are of
 * the same order; 256 MiB leaves room for any real film while keeping a mistaken path from filling memory.
 */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (no effect on regular files).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads an import's input file as bytes, accepting only a regular file of at most MAX_IMPORT_BYTES. The checks run
 * on the opened descriptor, before any byte is read, so /dev/zero, a FIFO, a folder or a huge file is refused at
 * once and a path swapped between check and read cannot slip through.
 */
export function readImportFile(file: string, maxBytes = MAX_IMPORT_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new AppError('import_not_a_file', `${file} is a folder, not a regular file`, { file });
    throw new AppError('import_unreadable', `Cannot read ${file}: ${(err as Error).message}`, { file });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a FIFO' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device'
        : stat.isSocket() ? 'a socket' : 'a special file';
      throw new AppError('import_not_a_file', `${file} is ${kind}, not a regular file`, { file });
    }
    if (stat.size > maxBytes) {
      throw new AppError('import_too_large', `${file} is ${stat.size} bytes; imports take files up to ${maxBytes} bytes`,
        { file, bytes: stat.size, maxBytes });
    }
    // One byte of room past the stated size tells a file that grew while we read it from a complete read.
    const bytes = Buffer.alloc(stat.size + 1);
    let length = 0;
    while (length < bytes.length) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length !== stat.size) {
      throw new AppError('import_unreadable', `${file} changed size while being read; try again once it is complete`, { file });
    }
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** readImportFile decoded as UTF-8 text (a UTF-8 BOM is dropped; UTF-16/32 is refused by name, see text-encoding.ts). */
export function readImportText(file: string, maxBytes = MAX_IMPORT_BYTES): string {
  return decodeImportText(readImportFile(file, maxBytes), file);
}
