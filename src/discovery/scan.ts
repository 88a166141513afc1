/**
 * A static look at a repository for test discovery: its files (without dependencies, VCS data,
 * caches and build output), small text files on demand, package.json, and glob matching.
 * Nothing here runs repository code.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Directories never searched for tests: dependencies, VCS data, caches, virtualenvs. */
const SKIP_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  'bower_components',
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  '.tox',
  '.nox',
  '.venv',
  'venv',
  '.eggs',
  '.gradle',
  '.idea',
  '.vscode',
  'coverage',
  '.nyc_output',
  '.next',
  '.turbo',
  '.cache',
]);

/** At most this many files are listed; a larger tree is cut (and says so). */
const MAX_FILES = 200_000;
/** Text files larger than this are not read (configs and test files are small). */
const MAX_READ_BYTES = 2 * 1024 * 1024;

export interface PackageJson {
  name?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  mocha?: unknown;
  jest?: unknown;
  [key: string]: unknown;
}

export class RepoScan {
  /** Repo-relative POSIX paths of regular files, sorted. */
  readonly files: string[];
  private readonly fileSet: Set<string>;
  private readonly dirSet: Set<string>;
  private readonly cache = new Map<string, string | null>();
  readonly truncated: boolean;
  readonly packageJson: PackageJson | null;
  /** Why package.json could not be used, when it exists but is not valid JSON. */
  readonly packageJsonError: string | null;

  constructor(readonly root: string) {
    const files: string[] = [];
    const dirs = new Set<string>(['']);
    let truncated = false;
    const walk = (rel: string) => {
      if (truncated) return;
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(rel ? join(root, rel) : root, { withFileTypes: true });
      } catch {
        return;
      }
      const names = new Set(entries.map((e) => e.name));
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (SKIP_DIRS.has(e.name) || isBuildOutput(e.name, names)) continue;
          dirs.add(p);
          walk(p);
        } else if (e.isFile()) {
          if (files.length >= MAX_FILES) {
            truncated = true;
            return;
          }
          files.push(p);
        }
      }
    };
    walk('');
    files.sort();
    this.files = files;
    this.fileSet = new Set(files);
    this.dirSet = dirs;
    this.truncated = truncated;
    let pkg: PackageJson | null = null;
    let pkgError: string | null = null;
    const text = this.read('package.json');
    if (text !== null) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          pkg = parsed as PackageJson;
        } else pkgError = 'package.json is not a JSON object';
      } catch (err) {
        pkgError = `package.json is not valid JSON (${(err as Error).message})`;
      }
    }
    this.packageJson = pkg;
    this.packageJsonError = pkgError;
  }

  has(rel: string): boolean {
    return this.fileSet.has(rel);
  }

  hasDir(rel: string): boolean {
    return this.dirSet.has(rel.replace(/\/+$/, ''));
  }

  /** UTF-8 text of a listed file (null if absent or too large). */
  read(rel: string): string | null {
    if (this.cache.has(rel)) return this.cache.get(rel)!;
    let text: string | null = null;
    try {
      const p = join(this.root, rel);
      const st = lstatSync(p);
      if (st.isFile() && st.size <= MAX_READ_BYTES) text = readFileSync(p, 'utf8');
    } catch {
      text = null;
    }
    this.cache.set(rel, text);
    return text;
  }

  /** Files matching any of the regular expressions (tested against the repo-relative path). */
  match(...patterns: RegExp[]): string[] {
    return this.files.filter((f) => patterns.some((p) => p.test(f)));
  }

  /** Files matching any of the globs (see globToRegExp). */
  glob(...globs: string[]): string[] {
    return this.match(...globs.map(globToRegExp));
  }

  /** Whether node_modules/.bin/<name> exists (a link to an installed package's binary). */
  hasBin(name: string): boolean {
    return existsSync(join(this.root, 'node_modules', '.bin', name));
  }

  /** Whether node_modules/<name> is an installed package. */
  hasModule(name: string): boolean {
    try {
      return statSync(join(this.root, 'node_modules', name, 'package.json')).isFile();
    } catch {
      return false;
    }
  }
}

/** Build output next to a build file: Rust/Maven `target/`, Go/PHP `vendor/`. */
function isBuildOutput(name: string, siblings: Set<string>): boolean {
  if (name === 'target') return siblings.has('Cargo.toml') || siblings.has('pom.xml');
  if (name === 'vendor') return siblings.has('go.mod') || siblings.has('composer.json');
  return false;
}

/**
 * A glob as a regular expression over repo-relative POSIX paths: `**` spans directories
 * (`a/** /b` matches `a/b` too), `*` and `?` stay within one segment, `{a,b}` alternates
 * (nested allowed), `[...]` is a character class, and a leading `./` is ignored.
 */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/^\.\//, '');
  if (g.endsWith('/')) g += '**';
  return new RegExp(`^${globBody(g)}$`);
}

function globBody(g: string): string {
  let out = '';
  let i = 0;
  while (i < g.length) {
    const c = g[i]!;
    if (c === '*') {
      if (g[i + 1] === '*') {
        const atStart = i === 0 || g[i - 1] === '/';
        const atEnd = i + 2 === g.length || g[i + 2] === '/';
        if (atStart && atEnd) {
          if (i + 2 === g.length) {
            out += '.*';
            i += 2;
          } else {
            out += '(?:[^/]*(?:/[^/]*)*/)?';
            i += 3;
          }
          continue;
        }
        out += '[^/]*';
        i += 2;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const close = g.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        i++;
        continue;
      }
      let cls = g.slice(i + 1, close);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      out += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = close + 1;
    } else if (c === '{') {
      let depth = 0;
      let j = i;
      for (; j < g.length; j++) {
        if (g[j] === '{') depth++;
        else if (g[j] === '}' && --depth === 0) break;
      }
      if (j >= g.length) {
        out += '\\{';
        i++;
        continue;
      }
      out += `(?:${splitTopLevel(g.slice(i + 1, j))
        .map(globBody)
        .join('|')})`;
      i = j + 1;
    } else {
      out += c.replace(/[.+^$()|\\]/g, '\\$&');
      i++;
    }
  }
  return out;
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Whether a word contains glob syntax. */
export function isGlob(word: string): boolean {
  return /[*?[{]/.test(word);
}

/**
 * Files a command-line path argument names: a file, every file under a directory that passes
 * `inDir`, or the files a glob matches.
 */
export function expandPathArg(
  scan: RepoScan,
  arg: string,
  inDir: (path: string) => boolean,
): string[] {
  const a = arg.replace(/^\.\//, '').replace(/\/+$/, '');
  if (a === '' || a === '.') return scan.files.filter(inDir);
  if (isGlob(a)) return scan.glob(a);
  if (scan.has(a)) return [a];
  if (scan.hasDir(a)) return scan.files.filter((f) => f.startsWith(`${a}/`) && inDir(f));
  return [];
}
