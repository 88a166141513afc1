import { lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import { UsageError } from '../util/errors.js';
import { ImageCache } from './cache.js';
import { chainIds, digestHex } from './digest.js';
import { describeImage, type ImageDescription } from './manifest.js';
import { buildRootfs } from './rootfs.js';
import { openSource } from './source.js';
import { unpackLayer } from './unpack.js';

export { defaultImageCacheDir, ImageCache } from './cache.js';
export { describeImage, type ImageDescription, type LayerRef } from './manifest.js';
export { type ImageSource, openSource } from './source.js';

export interface PrepareImageOptions {
  /** Where the repository lives inside the image (default /testbed, as in SWE-bench images). */
  repoPath?: string;
  /** Unpack cache (default: $SSR_CACHE_DIR/images or ~/.cache/ssr/images). */
  cacheDir?: string;
}

/** An image unpacked and ready to be a sandbox root. */
export interface PreparedImage {
  format: ImageDescription['format'];
  /** Host directory holding the image's root filesystem (read-only by convention: shared). */
  rootfs: string;
  /** Absolute path of the repository inside the image. */
  repoPath: string;
  /** The image's environment (its PATH and the rest of its config's Env). */
  env: Record<string, string>;
  workingDir: string;
  chainId: string;
  /** Layers unpacked by this call (0 when the cache had them all). */
  unpackedLayers: number;
  /** Whether this call built the rootfs (false when the cache had it). */
  builtRootfs: boolean;
  /** Layer entries left out (absolute or `..` paths, devices). */
  skippedEntries: number;
}

function normalizeRepoPath(p: string): string {
  const norm = posix.normalize(p).replace(/\/+$/, '');
  if (!norm.startsWith('/') || norm === '' || norm.split('/').includes('..')) {
    throw new UsageError(`repo path must be an absolute path inside the image: ${p}`);
  }
  return norm;
}

/**
 * The repository directory inside the rootfs, checked component by component: a symlink
 * there would be followed on the host, where it could point anywhere.
 */
function repoDirIn(rootfs: string, repoPath: string, image: string): string {
  let dir = rootfs;
  for (const part of repoPath.split('/').filter(Boolean)) {
    dir = join(dir, part);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(dir);
    } catch {
      throw new UsageError(`repo path ${repoPath} does not exist in the image ${image}`);
    }
    if (st.isSymbolicLink()) {
      throw new UsageError(
        `repo path ${repoPath} goes through a symlink in the image ${image}; pass the real path`,
      );
    }
    if (!st.isDirectory()) {
      throw new UsageError(`repo path ${repoPath} is not a directory in the image ${image}`);
    }
  }
  return dir;
}

function parseEnv(list: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    const key = eq > 0 ? kv.slice(0, eq) : '';
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) env[key] = kv.slice(eq + 1);
  }
  return env;
}

/** One build per rootfs at a time in this process; other processes race safely (ImageCache). */
const building = new Map<string, Promise<{ unpacked: number; skipped: number }>>();

/**
 * Unpacks an image (a `docker save` tarball, or an OCI layout as a directory or tar) into the
 * cache once, and returns its root filesystem. Later calls only read and verify the manifest
 * and config: layers are verified when they are unpacked, not on every use.
 */
export async function prepareImage(
  imagePath: string,
  opts: PrepareImageOptions = {},
): Promise<PreparedImage> {
  const repoPath = normalizeRepoPath(opts.repoPath ?? '/testbed');
  const src = openSource(imagePath);
  const desc = describeImage(src);
  const cache = new ImageCache(opts.cacheDir);
  const chain = chainIds(desc.layers.map((l) => `sha256:${l.diffHex}`)).at(-1)!;
  const rootfs = cache.rootfsDir(digestHex(chain, 'chain id'));
  let unpacked = 0;
  let skipped = 0;
  let built = false;
  if (!cache.has(rootfs)) {
    let job = building.get(rootfs);
    if (!job) {
      built = true;
      job = (async () => {
        // Layers unpack side by side: decompression and tar parsing are CPU-bound per layer.
        const missing = desc.layers.filter((l) => !cache.has(cache.layerDir(l.diffHex)));
        const done = await Promise.all(missing.map((l) => unpackLayer(src, l, cache)));
        const n = missing.length;
        const skip = done.reduce((a, d) => a + d.skipped, 0);
        const tmp = cache.tempDir();
        buildRootfs(
          desc.layers.map((l) => cache.layerDir(l.diffHex)),
          tmp,
        );
        cache.publish(tmp, rootfs);
        return { unpacked: n, skipped: skip };
      })();
      building.set(rootfs, job);
      job.finally(() => building.delete(rootfs)).catch(() => {});
    }
    const r = await job;
    if (built) {
      unpacked = r.unpacked;
      skipped = r.skipped;
    }
  }
  repoDirIn(rootfs, repoPath, imagePath);
  return {
    format: desc.format,
    rootfs,
    repoPath,
    env: parseEnv(desc.env),
    workingDir: desc.workingDir,
    chainId: chain,
    unpackedLayers: unpacked,
    builtRootfs: built,
    skippedEntries: skipped,
  };
}
