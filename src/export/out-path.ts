/** Where exports write: the checks every `--out` gets, so each format fails the same way. */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errorMessage, UsageError } from '../util/errors.js';

/**
 * An explicit `--out` file, taken literally: its folder must exist (creating folders for a
 * typo hides the typo), and the path must not be a folder.
 */
export function checkOutFile(out: string): string {
  const path = resolve(out);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(`the folder of --out ${out} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UsageError(`--out ${out} is a folder; give a file name`);
  return path;
}

/** An output folder, or a usage error naming why it cannot be made (a file in the way). */
export function makeOutFolder(path: string, given: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new UsageError(`--out ${given}: cannot create the folder: ${errorMessage(err)}`);
  }
}
