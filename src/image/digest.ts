import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { UsageError } from '../util/errors.js';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The hex part of a `sha256:<hex>` digest; anything else is refused (no other algorithm). */
export function digestHex(digest: unknown, what: string): string {
  const m = typeof digest === 'string' ? DIGEST.exec(digest) : null;
  if (!m) throw new UsageError(`${what}: not a sha256 digest: ${String(digest)}`);
  return m[1]!;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Chain ids as the OCI image spec defines them: the identity of a layer together with
 * everything below it, so a rootfs built from one chain can be shared by every image that
 * starts with the same layers.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : `sha256:${sha256Hex(`${prev} ${d}`)}`);
  }
  return out;
}

/** Passes bytes through unchanged while hashing them. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private hex: string | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }

  /** Valid once the stream has ended. */
  digestHex(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}
