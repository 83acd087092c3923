import { AppError } from '../../shared/errors';

/**
 * Import files are UTF-8 JSON. Editors on Windows often save with a byte-order mark or as UTF-16
 * ("Unicode" in Notepad): a UTF-8 BOM is dropped and the file read; any other encoding is named, so
 * the curator knows what to change, instead of a JSON error quoting NULs and replacement characters.
 */

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** The encoding the bytes are in when it is not plain UTF-8 (by BOM, else by the NULs of ASCII text in UTF-16/32). */
export function detectOtherEncoding(bytes: Uint8Array): string | null {
  const starts = (...b: number[]) => b.every((x, i) => bytes[i] === x);
  if (starts(0xff, 0xfe, 0x00, 0x00)) return 'UTF-32 LE';
  if (starts(0x00, 0x00, 0xfe, 0xff)) return 'UTF-32 BE';
  if (starts(0xff, 0xfe)) return 'UTF-16 LE';
  if (starts(0xfe, 0xff)) return 'UTF-16 BE';
  // JSON starts with ASCII ("{", "[", spaces): in UTF-16 every other byte of it is NUL.
  const head = bytes.subarray(0, Math.min(bytes.length, 64) & ~3);
  if (head.length >= 4) {
    let evenNul = 0;
    let oddNul = 0;
    for (let i = 0; i < head.length; i++) if (head[i] === 0) (i % 2 === 0 ? evenNul++ : oddNul++);
    const half = head.length / 2;
    if (evenNul === 0 && oddNul >= half * 0.75) return head[1] === 0 && head[2] === 0 && head[3] === 0 ? 'UTF-32 LE' : 'UTF-16 LE';
    if (oddNul === 0 && evenNul >= half * 0.75) return head[0] === 0 && head[1] === 0 && head[2] === 0 ? 'UTF-32 BE' : 'UTF-16 BE';
  }
  return null;
}

/** Decodes an import file's bytes as UTF-8 text, without a leading BOM; refuses other encodings by name. */
export function decodeImportText(bytes: Buffer, file: string): string {
  const other = detectOtherEncoding(bytes);
  if (other) {
    throw new AppError('import_encoding', `${file} is ${other} text; save it as UTF-8 and import it again`, { file, encoding: other });
  }
  const body = UTF8_BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(UTF8_BOM.length) : bytes;
  return body.toString('utf8');
}
