import { rmSync } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Unpack } from 'tar';
import { UsageError } from '../util/errors.js';
import type { ImageCache } from './cache.js';
import { HashingStream } from './digest.js';
import type { LayerRef } from './manifest.js';
import type { ImageSource } from './source.js';

/** Entry types a layer may hold; devices and FIFOs have no business in a sandbox root. */
const KEPT_TYPES = new Set([
  'File',
  'OldFile',
  'ContiguousFile',
  'Directory',
  'SymbolicLink',
  'Link',
]);

function escapes(p: string): boolean {
  return p.startsWith('/') || p.split('/').includes('..');
}

export interface UnpackStats {
  /** Entries left out: absolute or `..` paths, devices, FIFOs. */
  skipped: number;
}

/**
 * Unpacks one layer tar, as it is (whiteout files included: they are applied when a rootfs is
 * built), into `cache/layers/<diff id>`, verifying the blob's digest and the uncompressed
 * digest on the way. Ownership is not kept: every file belongs to the unpacking user, which the
 * sandbox maps to its own uid, and setuid/setgid bits are dropped.
 */
export async function unpackLayer(
  src: ImageSource,
  layer: LayerRef,
  cache: ImageCache,
): Promise<UnpackStats> {
  const stats: UnpackStats = { skipped: 0 };
  const final = cache.layerDir(layer.diffHex);
  if (cache.has(final)) return stats;
  const tmp = cache.tempDir();
  const gzipped = src.head(layer.member, 2).equals(Buffer.from([0x1f, 0x8b]));
  const blobHash = new HashingStream();
  const tarHash = new HashingStream();
  const warnings: string[] = [];
  const unpack = new Unpack({
    cwd: tmp,
    preserveOwner: false,
    strict: false,
    filter: (path, entry) => {
      const e = entry as { type?: string; linkpath?: string; mode?: number };
      const bad =
        escapes(posix.normalize(path)) ||
        !KEPT_TYPES.has(e.type ?? '') ||
        (e.type === 'Link' && (!e.linkpath || escapes(posix.normalize(e.linkpath))));
      if (bad) {
        stats.skipped++;
        return false;
      }
      if (typeof e.mode === 'number') e.mode &= 0o1777;
      return true;
    },
    onwarn: (code, message) => {
      if (code !== 'TAR_ENTRY_INFO') warnings.push(`${code}: ${message}`);
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    unpack.on('close', () => resolve());
    unpack.on('error', reject);
  });
  try {
    const stages: NodeJS.ReadWriteStream[] = [blobHash, tarHash];
    if (gzipped) stages.splice(1, 0, createGunzip());
    // node-tar's Unpack is not a Node stream, but takes pipe() with backpressure.
    tarHash.pipe(unpack as unknown as NodeJS.WritableStream);
    const feeding = pipeline([src.stream(layer.member), ...stages]);
    await Promise.all([feeding, done]);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw new UsageError(
      `${src.path}: could not unpack layer ${layer.member}: ${(err as Error).message}`,
    );
  }
  const failure =
    layer.blobHex && blobHash.digestHex() !== layer.blobHex
      ? `digest mismatch for layer ${layer.member}: expected sha256:${layer.blobHex}, got sha256:${blobHash.digestHex()}`
      : tarHash.digestHex() !== layer.diffHex
        ? `digest mismatch for layer ${layer.member}: the config's diff_id is sha256:${layer.diffHex}, the content's sha256:${tarHash.digestHex()}`
        : undefined;
  if (failure) {
    rmSync(tmp, { recursive: true, force: true });
    throw new UsageError(`${src.path}: ${failure}`);
  }
  cache.publish(tmp, final);
  return stats;
}
