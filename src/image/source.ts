import {
  closeSync,
  createReadStream,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UsageError } from '../util/errors.js';
import { indexTar, normalizeMemberName, type TarMember } from './tar-index.js';

/** Manifests, indexes and configs are small; anything bigger is not one. */
const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/**
 * The files of an image as it was handed over: a directory (OCI layout) or a tar file (docker
 * save, or an OCI layout packed as a tar). Member names come from the image's own manifests,
 * so they are checked not to leave it.
 */
export interface ImageSource {
  readonly path: string;
  has(name: string): boolean;
  /** A small member (manifest, config), read whole. */
  read(name: string): Buffer;
  /** The first `n` bytes of a member (to sniff compression). */
  head(name: string, n: number): Buffer;
  stream(name: string): Readable;
}

function memberName(name: string): string {
  const norm = normalizeMemberName(name);
  if (!norm || norm.startsWith('/') || norm === '..' || norm.startsWith('../')) {
    throw new UsageError(`image names a file outside itself: ${name}`);
  }
  return norm;
}

function tooBig(path: string, name: string): never {
  throw new UsageError(`${path}: ${name} is too large for image metadata`);
}

export class DirSource implements ImageSource {
  constructor(readonly path: string) {}

  private file(name: string): string {
    return join(this.path, memberName(name));
  }

  has(name: string): boolean {
    try {
      return lstatSync(this.file(name)).isFile();
    } catch {
      return false;
    }
  }

  read(name: string): Buffer {
    if (!this.has(name)) throw new UsageError(`${this.path}: ${name} is missing`);
    if (lstatSync(this.file(name)).size > MAX_METADATA_BYTES) tooBig(this.path, name);
    return readFileSync(this.file(name));
  }

  head(name: string, n: number): Buffer {
    const fd = openSync(this.file(name), 'r');
    try {
      const buf = Buffer.alloc(n);
      return buf.subarray(0, readSync(fd, buf, 0, n, 0));
    } finally {
      closeSync(fd);
    }
  }

  stream(name: string): Readable {
    return createReadStream(this.file(name));
  }
}

export class TarSource implements ImageSource {
  private readonly members: Map<string, TarMember>;

  constructor(readonly path: string) {
    this.members = indexTar(path);
  }

  private member(name: string): TarMember {
    const m = this.members.get(memberName(name));
    if (!m) throw new UsageError(`${this.path}: ${name} is missing`);
    return m;
  }

  has(name: string): boolean {
    return this.members.has(memberName(name));
  }

  read(name: string): Buffer {
    const m = this.member(name);
    if (m.size > MAX_METADATA_BYTES) tooBig(this.path, name);
    return this.head(name, m.size);
  }

  head(name: string, n: number): Buffer {
    const m = this.member(name);
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(n, m.size));
      readSync(fd, buf, 0, buf.length, m.offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  stream(name: string): Readable {
    const m = this.member(name);
    if (m.size === 0) return Readable.from([]);
    return createReadStream(this.path, { start: m.offset, end: m.offset + m.size - 1 });
  }
}

export function openSource(path: string): ImageSource {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`image not found: ${path}`);
  }
  if (st.isDirectory()) return new DirSource(path);
  if (st.isFile()) return new TarSource(path);
  throw new UsageError(`image is neither a file nor a directory: ${path}`);
}
