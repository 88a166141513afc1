import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';

/**
 * What an ssr output folder is: a self-play run (run.json) or an `ssr inject` output
 * (summary.json or .ssr/). Anything else is a usage error naming both.
 */
export function outputKind(dir: string): 'run' | 'inject' {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new UsageError(`${dir} does not exist or is not a folder`);
  if (existsSync(join(root, 'run.json'))) return 'run';
  if (existsSync(join(root, 'summary.json')) || existsSync(join(root, '.ssr'))) return 'inject';
  throw new UsageError(
    `${dir} is neither an ssr run directory (no run.json) nor an ssr inject output (no summary.json)`,
  );
}
