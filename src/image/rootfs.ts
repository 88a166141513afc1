import {
  chmodSync,
  copyFileSync,
  type Dirent,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/** A hard link shares the layer's inode (no copy, no space); a copy where links cannot be made. */
function placeFile(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EMLINK' && code !== 'EPERM') throw err;
    copyFileSync(from, to);
  }
}

/**
 * Lays one unpacked layer directory over `dst`, applying its whiteouts first (they hide only
 * what lower layers put there): `.wh..wh..opq` empties the directory, `.wh.<name>` deletes
 * `<name>`. An entry of another kind replaces what was there (a directory over a symlink, as
 * overlayfs does); directories of both merge.
 */
function mergeLayer(src: string, dst: string): void {
  const entries: Dirent[] = readdirSync(src, { withFileTypes: true });
  if (entries.some((e) => e.name === OPAQUE)) {
    for (const name of readdirSync(dst)) rmSync(join(dst, name), { recursive: true, force: true });
  }
  for (const e of entries) {
    if (e.name.startsWith(WHITEOUT) && e.name !== OPAQUE) {
      rmSync(join(dst, e.name.slice(WHITEOUT.length)), { recursive: true, force: true });
    }
  }
  for (const e of entries) {
    if (e.name.startsWith(WHITEOUT)) continue;
    const from = join(src, e.name);
    const to = join(dst, e.name);
    const st = lstatSync(from);
    const existing = lstatOrNull(to);
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) rmSync(to, { force: true });
      if (!existing?.isDirectory()) mkdirSync(to, { mode: 0o700 });
      mergeLayer(from, to);
      // Modes last: a read-only directory must still take its children first.
      chmodSync(to, st.mode & 0o7777);
      utimesSync(to, st.atime, st.mtime);
      continue;
    }
    if (existing) rmSync(to, { recursive: true, force: true });
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) placeFile(from, to);
  }
}

/**
 * A flat root filesystem from unpacked layers (base first) at `target`. Flat rather than an
 * overlay of the layer directories: the repository inside it is then one plain directory, like
 * a repo on the host, so the sandbox's overlay, diff and copy storage take it unchanged, and
 * the layers' `.wh.` files need no translation into overlayfs whiteouts. Hard links make it
 * cost one directory entry per file.
 */
export function buildRootfs(layerDirs: readonly string[], target: string): void {
  mkdirSync(target, { recursive: true });
  for (const dir of layerDirs) mergeLayer(dir, target);
  chmodSync(target, 0o755);
}
