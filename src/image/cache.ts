import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `$SSR_CACHE_DIR/images`, else `~/.cache/ssr/images`. */
export function defaultImageCacheDir(): string {
  const root = process.env.SSR_CACHE_DIR;
  return root ? resolve(root, 'images') : join(homedir(), '.cache', 'ssr', 'images');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Content-addressed store of unpacked layers (`layers/<diff id>`) and the root filesystems
 * built from them (`rootfs/<chain id>`). Entries are written in `tmp/` and renamed into place,
 * so a reader sees a complete entry or none. Two processes unpacking the same layer both do the
 * work and one rename wins; the loser discards its copy, which is identical (same digest).
 */
export class ImageCache {
  readonly root: string;

  constructor(root: string = defaultImageCacheDir()) {
    this.root = resolve(root);
    // Unpacked images are the user's: other local users have no business reading them.
    for (const d of ['layers', 'rootfs', 'tmp']) {
      mkdirSync(join(this.root, d), { recursive: true, mode: 0o700 });
    }
    this.sweep();
  }

  layerDir(diffHex: string): string {
    return join(this.root, 'layers', diffHex);
  }

  rootfsDir(chainHex: string): string {
    return join(this.root, 'rootfs', chainHex);
  }

  has(dir: string): boolean {
    return existsSync(dir);
  }

  /** A fresh work directory on the cache's filesystem (so renames and hard links work). */
  tempDir(): string {
    const dir = join(this.root, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /** Moves a finished entry into place; false (and the copy removed) if another got there first. */
  publish(tmp: string, final: string): boolean {
    try {
      renameSync(tmp, final);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      rmSync(tmp, { recursive: true, force: true });
      return false;
    }
  }

  /** Work directories of processes that died mid-unpack. */
  private sweep(): void {
    for (const name of readdirSync(join(this.root, 'tmp'))) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (pid && !isAlive(pid))
        rmSync(join(this.root, 'tmp', name), { recursive: true, force: true });
    }
  }
}
