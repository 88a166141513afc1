import { lstatSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ARTIFACT_FILES } from '../artifact/artifact.js';
import { UsageError } from '../util/errors.js';
import { ApiError } from './errors.js';

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The server-side directories a client may name. A path must stay inside a root both as
 * written (no `..` escape) and after every symlink is resolved, so a link planted inside a
 * root cannot hand out the rest of the machine.
 */
export class AllowedRoots {
  private constructor(
    readonly what: string,
    /** Real paths of the roots. */
    readonly roots: string[],
  ) {}

  static open(what: string, dirs: string[]): AllowedRoots {
    const roots = dirs.map((d) => {
      let real: string;
      try {
        real = realpathSync(resolve(d));
      } catch {
        throw new UsageError(`${what} root not found: ${d}`);
      }
      if (!statSync(real).isDirectory())
        throw new UsageError(`${what} root is not a directory: ${d}`);
      return real;
    });
    return new AllowedRoots(what, roots);
  }

  /** The real path of `input`: absolute, or relative to the first root that has it. */
  resolve(input: string): string {
    if (input.includes('\0'))
      throw new ApiError(400, 'bad-request', `${this.what} path has a NUL byte`);
    if (this.roots.length === 0) {
      throw new ApiError(403, 'forbidden-path', `this server allows no ${this.what} paths`);
    }
    const candidates = isAbsolute(input)
      ? [resolve(input)]
      : this.roots.map((r) => resolve(join(r, input)));
    let anyInside = false;
    for (const lexical of candidates) {
      if (!this.roots.some((r) => within(r, lexical))) continue;
      anyInside = true;
      let real: string;
      try {
        real = realpathSync(lexical);
      } catch {
        continue;
      }
      if (!this.roots.some((r) => within(r, real))) {
        throw new ApiError(
          403,
          'forbidden-path',
          `${this.what} ${input} resolves (through a symlink) outside the allowed roots`,
        );
      }
      return real;
    }
    if (!anyInside) {
      throw new ApiError(
        403,
        'forbidden-path',
        `${this.what} ${input} is outside the allowed roots (${this.roots.join(', ')})`,
      );
    }
    throw new ApiError(
      404,
      'not-found',
      `${this.what} not found under the allowed roots: ${input}`,
    );
  }

  /** An artifact folder whose files are links to elsewhere would leak host files into sandboxes. */
  assertArtifactFilesInside(dir: string): void {
    const names = [
      'metadata.json',
      ...Object.values(ARTIFACT_FILES).flatMap((f) => [f.name, ...f.aliases]),
    ];
    for (const name of names) {
      const p = join(dir, name);
      let isLink = false;
      try {
        isLink = lstatSync(p).isSymbolicLink();
      } catch {
        continue;
      }
      if (!isLink) continue;
      let real = '';
      try {
        real = realpathSync(p);
      } catch {
        // A dangling link: readArtifact reports the file as missing.
      }
      if (real && !this.roots.some((r) => within(r, real))) {
        throw new ApiError(
          403,
          'forbidden-path',
          `artifact file ${name} links outside the allowed roots`,
        );
      }
    }
  }
}
