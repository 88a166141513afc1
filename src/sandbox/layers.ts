import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/**
 * One read-only or upper directory of an overlay stack. `overlay` layers were written through
 * overlayfs and may hold whiteouts (0:0 char devices) and opaque directories; a plain
 * directory (the user's repo) holds neither.
 */
export interface Layer {
  dir: string;
  overlay: boolean;
  /** Opaque directories (relative paths), computed once for frozen layers. */
  opaque?: Set<string>;
}

export type Entry =
  | { kind: 'file'; hostPath: string; stat: Stats }
  | { kind: 'symlink'; hostPath: string; stat: Stats }
  | { kind: 'dir'; hostPath: string; stat: Stats };

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/**
 * Reads overlayfs' opaque marks: a directory deleted and re-created in an upper layer hides
 * everything below it. Node has no getxattr, and python3 is a hard requirement anyway (test
 * parsers are Python), so one python3 call answers for all candidate directories at once.
 */
export function readOpaqueDirs(layerDir: string, relDirs: string[]): Set<string> {
  if (relDirs.length === 0) return new Set();
  const script =
    'import os,sys\n' +
    'root=sys.argv[1]\n' +
    'for rel in sys.stdin.read().split("\\0"):\n' +
    '  if not rel: continue\n' +
    '  try:\n' +
    '    v=os.getxattr(os.path.join(root,rel),"trusted.overlay.opaque",follow_symlinks=False)\n' +
    '  except OSError: continue\n' +
    '  if v==b"y": sys.stdout.write(rel+"\\0")\n';
  const out = execFileSync(PYTHON, ['-I', '-S', '-c', script, layerDir], {
    input: relDirs.join('\0'),
    maxBuffer: 64 * 1024 * 1024,
  }).toString();
  return new Set(out.split('\0').filter(Boolean));
}

// The system interpreter starts in ~15 ms; a version-manager shim on PATH can take 100+ ms.
const PYTHON =
  ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p)) ?? 'python3';

function isOpaque(layer: Layer, rel: string): boolean {
  return layer.overlay && (layer.opaque?.has(rel) ?? false);
}

/** Layers ordered top (newest) to bottom (the original repo). */
export class LayerStack {
  constructor(readonly layers: Layer[]) {}

  /**
   * How `parts` looks in one layer: `end` = this layer hides everything below (whiteout,
   * non-directory ancestor, or opaque directory and nothing here); `absent` = look lower;
   * `found` = the entry is here (its stat given).
   */
  private lookup(
    layer: Layer,
    parts: string[],
  ): { state: 'end' } | { state: 'absent' } | { state: 'found'; st: Stats; opaqueAbove: boolean } {
    let opaqueAbove = false;
    for (let k = 1; k < parts.length; k++) {
      const prefix = parts.slice(0, k).join('/');
      const st = lstatOrNull(join(layer.dir, prefix));
      if (!st) return opaqueAbove ? { state: 'end' } : { state: 'absent' };
      if ((layer.overlay && isWhiteout(st)) || !st.isDirectory()) return { state: 'end' };
      if (isOpaque(layer, prefix)) opaqueAbove = true;
    }
    const st = lstatOrNull(join(layer.dir, ...parts));
    if (!st) return opaqueAbove ? { state: 'end' } : { state: 'absent' };
    if (layer.overlay && isWhiteout(st)) return { state: 'end' };
    return { state: 'found', st, opaqueAbove };
  }

  /** What a process inside the sandbox would see at `rel`, or null if nothing is there. */
  resolve(rel: string): Entry | null {
    const parts = rel.split('/').filter(Boolean);
    for (const layer of this.layers) {
      const r = this.lookup(layer, parts);
      if (r.state === 'end') return null;
      if (r.state === 'absent') continue;
      const hostPath = join(layer.dir, ...parts);
      if (r.st.isSymbolicLink()) return { kind: 'symlink', hostPath, stat: r.st };
      if (r.st.isDirectory()) return { kind: 'dir', hostPath, stat: r.st };
      return { kind: 'file', hostPath, stat: r.st };
    }
    return null;
  }

  /** Entry names of a merged directory (sorted), honouring whiteouts and opaque marks. */
  readdir(rel: string): string[] {
    const seen = new Map<string, boolean>();
    const parts = rel.split('/').filter(Boolean);
    for (const layer of this.layers) {
      const r = this.lookup(layer, parts);
      if (r.state === 'end') break;
      if (r.state === 'absent') continue;
      if (!r.st.isDirectory()) break;
      let names: string[] = [];
      try {
        names = readdirSync(join(layer.dir, ...parts));
      } catch {}
      for (const name of names) {
        if (seen.has(name)) continue;
        const st = lstatOrNull(join(layer.dir, ...parts, name));
        seen.set(name, !(st && layer.overlay && isWhiteout(st)));
      }
      if (r.opaqueAbove || (parts.length > 0 && isOpaque(layer, parts.join('/')))) break;
    }
    return [...seen.entries()]
      .filter(([, live]) => live)
      .map(([n]) => n)
      .sort();
  }

  /** Every non-directory path under `rel` in the merged view. */
  listFiles(rel = '', skip: (rel: string) => boolean = () => false): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const name of this.readdir(dir)) {
        const child = dir ? `${dir}/${name}` : name;
        if (skip(child)) continue;
        const e = this.resolve(child);
        if (!e) continue;
        if (e.kind === 'dir') walk(child);
        else out.push(child);
      }
    };
    if (rel) {
      const top = this.resolve(rel);
      if (!top) return [];
      if (top.kind !== 'dir') return [rel];
    }
    walk(rel);
    return out;
  }
}

/**
 * Paths that may differ between an upper layer stack and its base: every entry and whiteout
 * of the upper layers, plus base files under whited-out, replaced or opaque directories.
 */
export function changedCandidates(upper: Layer[], base: LayerStack): Set<string> {
  const out = new Set<string>();
  for (const layer of upper) {
    const walk = (rel: string) => {
      let names: string[];
      try {
        names = readdirSync(join(layer.dir, rel));
      } catch {
        return;
      }
      for (const name of names) {
        const child = rel ? `${rel}/${name}` : name;
        const st = lstatOrNull(join(layer.dir, child));
        if (!st) continue;
        if (st.isDirectory()) {
          // The directory may replace a file of the base (a deletion to report).
          out.add(child);
          if (isOpaque(layer, child)) for (const f of base.listFiles(child)) out.add(f);
          walk(child);
        } else {
          // A whiteout, or a file that may replace a base directory: what was below is gone.
          out.add(child);
          for (const f of base.listFiles(child)) out.add(f);
        }
      }
    };
    walk('');
  }
  return out;
}

/** Directories of an overlay layer that also exist below it: the only ones that can be opaque. */
export function opaqueCandidates(layer: Layer, below: LayerStack): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(layer.dir, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      const st = lstatOrNull(join(layer.dir, child));
      if (!st?.isDirectory()) continue;
      if (below.resolve(child)?.kind === 'dir') out.push(child);
      walk(child);
    }
  };
  walk('');
  return out;
}
