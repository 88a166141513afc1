/**
 * Reading package.json's `test` script: which test runner it invokes and with which arguments,
 * so discovery can call the runner directly (without the linters `npm test` may chain) and still
 * run the files the project's authors chose.
 */
import type { PackageJson } from './scan.js';

export interface Word {
  value: string;
  /** Whether any part of the word was quoted (the shell does not expand quoted globs). */
  quoted: boolean;
}

/** Splits a shell command line into simple commands (at `&&`, `||`, `;`, `|`, `&`, newlines). */
export function splitCommands(line: string): Word[][] {
  const commands: Word[][] = [];
  let words: Word[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  const endWord = () => {
    if (inWord) words.push({ value: cur, quoted });
    cur = '';
    inWord = false;
    quoted = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      cur += line.slice(i + 1, stop);
      inWord = true;
      quoted = true;
      i = stop;
    } else if (c === '"') {
      inWord = true;
      quoted = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
      quoted = true;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '\n' || c === ';' || c === '|' || c === '&') {
      endCommand();
      if ((c === '|' || c === '&') && line[i + 1] === c) i++;
    } else if (c === '#' && !inWord) {
      const nl = line.indexOf('\n', i);
      i = nl < 0 ? line.length : nl - 1;
    } else {
      cur += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** `npm test`'s default script, which only fails. */
export function isPlaceholderTestScript(script: string | undefined): boolean {
  return !script || /no test specified/.test(script);
}

/**
 * The test script with `npm run x` / `yarn x` / `pnpm run x` references to other scripts of the
 * same package.json replaced by their text (two levels deep), so a runner called through
 * `"test": "npm run test:unit"` is still found.
 */
export function expandedTestScript(pkg: PackageJson | null): string {
  const scripts = pkg?.scripts ?? {};
  const script = scripts.test;
  if (typeof script !== 'string' || isPlaceholderTestScript(script)) return '';
  const names = Object.keys(scripts).filter((n) => typeof scripts[n] === 'string');
  const expand = (text: string, depth: number): string => {
    if (depth > 2) return text;
    const one = (name: string) => {
      const target = scripts[name];
      return typeof target === 'string' && name !== 'test' ? expand(target, depth + 1) : '';
    };
    return text
      .replace(
        /\b(?:npm run(?:-script)?|yarn(?: run)?|pnpm(?: run)?)\s+([\w:.-]+)/g,
        (m, name: string) => {
          const body = one(name);
          return body ? `${m} ; ${body}` : m;
        },
      )
      .replace(/\b(?:npm-run-all|run-s|run-p)((?:[ \t]+[^\s;&|]+)+)/g, (m, args: string) => {
        // npm-run-all's names are globs over script names: `unit:*` is unit:esm, unit:cjs.
        const bodies = args
          .trim()
          .split(/\s+/)
          .filter((w) => !w.startsWith('-'))
          .flatMap((pattern) => names.filter((n) => runAllPattern(pattern).test(n)))
          .map(one)
          .filter(Boolean);
        return bodies.length ? `${m} ; ${bodies.join(' ; ')}` : m;
      });
  };
  return expand(script, 0);
}

/** An npm-run-all name pattern as a RegExp: `*` within a `:` segment, `**` across them. */
function runAllPattern(pattern: string): RegExp {
  const body = pattern
    .replace(/^['"]|['"]$/g, '')
    .split(/(\*\*|\*)/)
    .map((part) =>
      part === '**' ? '.*' : part === '*' ? '[^:]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

export interface RunnerCall {
  /** Environment assignments written before the command (`NODE_ENV=test jest`). */
  env: Word[];
  /** Words before the runner (e.g. node flags for `node --test`), runner excluded. */
  before: Word[];
  /** Words after the runner. */
  args: Word[];
}

const WRAPPERS = new Set(['npx', 'cross-env', 'nyc', 'c8', 'dotenv', 'env', 'exec', 'time']);

/**
 * Finds the first simple command of `script` that runs `runner` (by basename, also through
 * npx, cross-env, nyc, c8 or node_modules/.bin/) and returns its environment and arguments.
 */
export function findRunnerCall(script: string, runners: string[]): RunnerCall | null {
  for (const words of splitCommands(script)) {
    const env: Word[] = [];
    let i = 0;
    for (; i < words.length; i++) {
      const w = words[i]!.value;
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) env.push(words[i]!);
      else if (WRAPPERS.has(w) || w.startsWith('-')) continue;
      else break;
    }
    for (let j = i; j < words.length; j++) {
      const base = words[j]!.value.split('/').at(-1)!;
      if (runners.includes(base)) {
        return { env, before: words.slice(i, j), args: words.slice(j + 1) };
      }
    }
  }
  return null;
}

/**
 * `node [flags] --test [flags] [paths]` in the script: the node flags worth keeping (loaders,
 * --import/--require, experimental switches) and the paths.
 */
export function findNodeTestCall(
  script: string,
): { env: Word[]; flags: Word[]; paths: Word[] } | null {
  for (const words of splitCommands(script)) {
    const nodeAt = words.findIndex((w) => w.value.split('/').at(-1) === 'node');
    if (nodeAt < 0 || !words.slice(nodeAt).some((w) => w.value === '--test')) continue;
    const env = words.slice(0, nodeAt).filter((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w.value));
    const flags: Word[] = [];
    const paths: Word[] = [];
    const rest = words.slice(nodeAt + 1);
    for (let k = 0; k < rest.length; k++) {
      const w = rest[k]!;
      const v = w.value;
      if (v === '--test') continue;
      if (!v.startsWith('-')) {
        paths.push(w);
        continue;
      }
      const name = v.split('=')[0]!;
      const takesValue = NODE_VALUE_FLAGS.has(name) && !v.includes('=');
      const value = takesValue ? rest[++k] : undefined;
      if (DROPPED_NODE_FLAGS.some((d) => name === d || name.startsWith(`${d}-`))) continue;
      flags.push(w);
      if (value) flags.push(value);
    }
    return { env, flags, paths };
  }
  return null;
}

const NODE_VALUE_FLAGS = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--conditions',
  '-C',
  '--env-file',
  '--test-shard',
]);

/** Flags discovery replaces (reporters) or that do not belong in a one-shot run. */
const DROPPED_NODE_FLAGS = [
  '--test-reporter',
  '--test-reporter-destination',
  '--watch',
  '--experimental-test-coverage',
  '--test-concurrency',
  '--test-shard',
  '--test-only',
];

/**
 * Drops the flags (and their values) that discovery sets itself or that would not end, such as
 * reporters and watch mode. `valued` lists flags that take the next word as their value.
 */
export function dropFlags(args: Word[], dropped: string[], valued: string[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < args.length; i++) {
    const v = args[i]!.value;
    const name = v.split('=')[0]!;
    if (dropped.includes(name)) {
      if (valued.includes(name) && !v.includes('=')) i++;
      continue;
    }
    out.push(args[i]!);
  }
  return out;
}

/** The positional (non-flag) words of a runner's arguments. */
export function positionals(args: Word[], valued: string[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < args.length; i++) {
    const v = args[i]!.value;
    if (v === '--') return out.concat(args.slice(i + 1));
    if (v.startsWith('-')) {
      if (valued.includes(v) && !v.includes('=')) i++;
      continue;
    }
    out.push(args[i]!);
  }
  return out;
}

/** A word for a bash script: unquoted globs stay unquoted (the shell expands them, as npm's). */
export function shellWord(w: Word): string {
  if (!w.quoted && /^[A-Za-z0-9_./*?{},@%+=:-]+$/.test(w.value)) return w.value;
  return shq(w.value);
}

export function shq(s: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
