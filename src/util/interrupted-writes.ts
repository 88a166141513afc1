import { type Dirent, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Finishes what a killed writer left in `dir`: staging folders (`<name>.tmp-<hex>`, written beside their destination and renamed into place) are removed,
 * and an old artifact moved aside (`<name>.old-<hex>`) goes back if its replacement never
 * arrived, else away. Run before writing into a folder an earlier run may have used.
 */
export function recoverInterruptedWrites(dir: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of entries) {
    const m = /^(.+)\.(tmp|old)-[0-9a-f]{8}$/.exec(d.name);
    if (!m || !d.isDirectory()) continue;
    const path = join(dir, d.name);
    const dest = join(dir, m[1]!);
    if (m[2] === 'old' && !existsSync(dest)) renameSync(path, dest);
    else rmSync(path, { recursive: true, force: true });
  }
}
