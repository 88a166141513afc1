/**
 * bench/stryker: the StrykerJS baseline of bench/inject's throughput part. Runs mutation testing
 * (@stryker-mutator/core with the mocha runner, coverageAnalysis 'perTest') on a copy of a
 * repository for a fixed wall-clock budget and counts the mutants it ran against tests.
 *
 * - Stryker is not a dependency of this project (it would slow every `npm install`): it is
 *   installed once, on demand, into $TMPDIR/ssr-bench-repos/stryker and run from there, with
 *   the repository copy as its working directory. Its core finds the mocha runner next to it
 *   (`plugins`: '@stryker-mutator/mocha-runner' resolves from the core's node_modules).
 * - The cached repository is never touched: its files are copied (without .git and
 *   node_modules) into a scratch folder, node_modules is a symlink to the cached one (Stryker
 *   symlinks it again into its own sandboxes, so it only reads it), and the scratch folder is
 *   removed afterwards.
 * - Time budget: Stryker has no time limit. A small reporter plugin (written next to the
 *   install) appends one JSON line per mutant result to a file as Stryker reports it; at the
 *   deadline the whole Stryker process group (its workers included) is killed and the lines
 *   are counted. This needs no estimate of how many mutants fit (a `mutate` subset sized in
 *   advance would either run out early or overrun), and the figure is exactly what Stryker
 *   had finished when time ran out: the mutants still in flight in the two workers are lost,
 *   as they would be for any cut-off.
 * - mutantsTested = killed + survived + timed out (mutants actually run against tests);
 *   no-coverage mutants are counted apart, as are runtime/compile errors (in `note`).
 *   mutantsPerMinute is over the time from Stryker's first mutant result to the end (its
 *   instrumentation and initial test run excluded, as bench/inject-throughput.ts measures
 *   `ssr inject` from its first candidate on); the note also gives the rate over the whole
 *   wall time.
 *
 * Run alone: node --import tsx bench/stryker.ts <repoDir> [minutes]
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CACHE } from './fetch-repos.js';
import { isMain } from './lib.js';

/** Stryker 9 needs Node >= 20 (10 needs 22); core and runner must be the same version. */
const STRYKER_VERSION = '9.6.1';
const MOCHA_VERSION = '10';
const STRYKER_DIR = join(CACHE, 'stryker');
const REPORTER = 'ssr-ndjson';

export interface StrykerResult {
  mutantsTested: number;
  killed: number;
  survived: number;
  noCoverage: number;
  timedOut: number;
  wallMs: number;
  mutantsPerMinute: number;
  note: string;
}

export interface StrykerOptions {
  minutes: number;
  concurrency?: number;
  log?: (s: string) => void;
  /** Files to mutate (Stryker globs); default: the preset for the package, else Stryker's. */
  mutate?: string[];
  /** Mocha spec globs and ignores; default: the preset for the package, else .mocharc / ./test. */
  spec?: string[];
  ignore?: string[];
}

/**
 * What the known repositories' own test commands run (bench/fetch-repos.ts THROUGHPUT_REPOS),
 * by package.json name: the mocha spec and the product files.
 */
const PRESETS: Record<string, { mutate?: string[]; spec?: string[]; ignore?: string[] }> = {
  espree: {
    mutate: ['espree.js', 'lib/**/*.js'],
    spec: ['tests/lib/**/*.js'],
    // Debian's tarball drops this file's fixtures (see fetch-repos.ts).
    ignore: ['tests/lib/libraries.js'],
  },
  'fs-extra': {
    mutate: ['lib/**/*.js', '!lib/**/__tests__/**'],
    spec: ['lib/**/__tests__/**/*.test.js'],
  },
};

/** The reporter plugin: one JSON line per event, appended to $SSR_STRYKER_EVENTS. */
const REPORTER_SOURCE = `// Written by bench/stryker.ts: appends Stryker's mutant results to $SSR_STRYKER_EVENTS.
import { appendFileSync } from 'node:fs';
import { declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin';

const file = process.env.SSR_STRYKER_EVENTS;
const put = (o) => file && appendFileSync(file, JSON.stringify({ t: Date.now(), ...o }) + '\\n');

class NdjsonReporter {
  onDryRunCompleted(e) {
    put({ event: 'dryRun', tests: e.result?.tests?.length ?? null });
  }
  onMutationTestingPlanReady(e) {
    const plans = e.mutantPlans ?? [];
    put({
      event: 'plan',
      mutants: plans.length,
      run: plans.filter((p) => p.plan === 'Run').length,
    });
  }
  onMutantTested(r) {
    put({ event: 'mutant', status: r.status, file: r.fileName });
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, '${REPORTER}', NdjsonReporter)];
`;

function npm(args: string[], cwd: string): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn('npm', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('error', fail);
    p.on('close', (code) =>
      code === 0
        ? ok()
        : fail(new Error(`npm ${args.join(' ')}: exit ${code}\n${err.slice(-2000)}`)),
    );
  });
}

/** Installs Stryker into STRYKER_DIR once; returns the path of its bin. */
async function ensureStryker(log: (s: string) => void): Promise<string> {
  const bin = join(STRYKER_DIR, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
  const marker = join(STRYKER_DIR, `.installed-${STRYKER_VERSION}`);
  if (!existsSync(marker) || !existsSync(bin)) {
    log(`installing StrykerJS ${STRYKER_VERSION} into ${STRYKER_DIR} (once)`);
    mkdirSync(STRYKER_DIR, { recursive: true });
    writeFileSync(
      join(STRYKER_DIR, 'package.json'),
      JSON.stringify({ name: 'ssr-bench-stryker', private: true }, null, 2),
    );
    await npm(
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `@stryker-mutator/core@${STRYKER_VERSION}`,
        `@stryker-mutator/mocha-runner@${STRYKER_VERSION}`,
        `mocha@${MOCHA_VERSION}`,
      ],
      STRYKER_DIR,
    );
    writeFileSync(marker, new Date().toISOString());
  }
  writeFileSync(join(STRYKER_DIR, `${REPORTER}-reporter.mjs`), REPORTER_SOURCE);
  return bin;
}

/** Copies `repo` without .git and node_modules; node_modules becomes a symlink to the original. */
function copyRepo(repo: string, into: string): void {
  for (const e of readdirSync(repo)) {
    if (e === '.git' || e === 'node_modules' || e === '.stryker-tmp') continue;
    cpSync(join(repo, e), join(into, e), { recursive: true, verbatimSymlinks: true });
  }
  if (existsSync(join(repo, 'node_modules')))
    symlinkSync(join(repo, 'node_modules'), join(into, 'node_modules'), 'dir');
}

interface Event {
  t: number;
  event: 'dryRun' | 'plan' | 'mutant';
  status?: string;
  tests?: number | null;
  mutants?: number;
  run?: number;
}

function readEvents(file: string): Event[] {
  if (!existsSync(file)) return [];
  const out: Event[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Event);
    } catch {
      // A line cut by the kill.
    }
  }
  return out;
}

export async function runStryker(repo: string, opts: StrykerOptions): Promise<StrykerResult> {
  const log = opts.log ?? (() => {});
  const concurrency = opts.concurrency ?? 2;
  const bin = await ensureStryker(log);
  const scratch = mkdtempSync(join(tmpdir(), 'ssr-bench-stryker-'));
  const work = join(scratch, 'repo');
  const events = join(scratch, 'events.ndjson');
  const stdoutFile = join(scratch, 'stryker.log');
  mkdirSync(work);
  try {
    copyRepo(resolve(repo), work);
    const pkgName = existsSync(join(work, 'package.json'))
      ? ((JSON.parse(readFileSync(join(work, 'package.json'), 'utf8')) as { name?: string }).name ??
        '')
      : '';
    const preset = PRESETS[pkgName] ?? {};
    const mutate = opts.mutate ?? preset.mutate;
    const spec = opts.spec ?? preset.spec;
    const ignore = opts.ignore ?? preset.ignore;
    const config = {
      testRunner: 'mocha',
      plugins: ['@stryker-mutator/mocha-runner', join(STRYKER_DIR, `${REPORTER}-reporter.mjs`)],
      reporters: [REPORTER, 'progress-append-only'],
      coverageAnalysis: 'perTest',
      concurrency,
      ...(mutate ? { mutate } : {}),
      mochaOptions: {
        ...(spec ? { spec } : {}),
        ...(ignore ? { ignore } : {}),
      },
      // Stryker would prepend `// @ts-nocheck` to every {test,src,lib} .js file, fixtures
      // included: espree's tests parse their fixture files and compare line numbers.
      disableTypeChecks: false,
      tempDirName: '.stryker-tmp',
      cleanTempDir: true,
      // No HTML/JSON report files, no dashboard, no incremental file.
      checkers: [],
    };
    writeFileSync(join(work, 'stryker.config.json'), JSON.stringify(config, null, 2));
    log(
      `StrykerJS ${STRYKER_VERSION} on a copy of ${repo} (perTest, concurrency ${concurrency}, ${opts.minutes} min, mutate ${JSON.stringify(mutate ?? 'default')})`,
    );

    const t0 = Date.now();
    const deadline = t0 + opts.minutes * 60_000;
    const child = spawn(process.execPath, [bin, 'run', 'stryker.config.json'], {
      cwd: work,
      detached: true, // its own process group: the deadline kills Stryker and its workers
      env: { ...process.env, SSR_STRYKER_EVENTS: events, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let lastProgress = 0;
    const progress = setInterval(() => {
      const n = readEvents(events).filter((e) => e.event === 'mutant').length;
      if (n !== lastProgress)
        log(`stryker: ${n} mutant results after ${Math.round((Date.now() - t0) / 1000)} s`);
      lastProgress = n;
    }, 30_000);
    let killedAtDeadline = false;
    const exit = await new Promise<number | null>((done) => {
      let hard: NodeJS.Timeout | undefined;
      const timer = setTimeout(
        () => {
          killedAtDeadline = true;
          signalGroup(child.pid, 'SIGTERM');
          hard = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000);
        },
        Math.max(0, deadline - Date.now()),
      );
      child.on('close', (code) => {
        clearTimeout(timer);
        clearTimeout(hard);
        done(code);
      });
    });
    // Workers that outlived Stryker's main process (same process group).
    if (killedAtDeadline) signalGroup(child.pid, 'SIGKILL');
    clearInterval(progress);
    const end = killedAtDeadline ? Math.min(Date.now(), deadline) : Date.now();
    const wallMs = end - t0;
    writeFileSync(stdoutFile, output);

    const all = readEvents(events);
    const mutants = all.filter((e) => e.event === 'mutant' && e.t <= deadline);
    const count = (s: string) => mutants.filter((m) => m.status === s).length;
    const killed = count('Killed');
    const survived = count('Survived');
    const timedOut = count('Timeout');
    const noCoverage = count('NoCoverage');
    const errors = count('RuntimeError') + count('CompileError');
    const ignored = count('Ignored');
    const mutantsTested = killed + survived + timedOut;
    const first = mutants[0]?.t;
    const testingMin = first ? Math.max(end - first, 1) / 60_000 : 0;
    const mutantsPerMinute = testingMin ? Math.round((mutantsTested / testingMin) * 10) / 10 : 0;
    const plan = all.find((e) => e.event === 'plan');
    const dry = all.find((e) => e.event === 'dryRun');
    const notes: string[] = [
      `StrykerJS ${STRYKER_VERSION}, mocha runner, perTest coverage, concurrency ${concurrency} on ${availableParallelism()} cores`,
      killedAtDeadline
        ? `stopped at the ${opts.minutes}-min deadline (process group killed)`
        : `finished by itself (exit ${exit}) after ${(wallMs / 1000).toFixed(0)} s`,
    ];
    if (dry) notes.push(`initial test run done after ${((dry.t - t0) / 1000).toFixed(0)} s`);
    if (plan) notes.push(`${plan.mutants} mutants in the plan (${plan.run} planned to run)`);
    if (first)
      notes.push(
        `first mutant result after ${((first - t0) / 1000).toFixed(0)} s; over the whole wall time ${(mutantsTested / (wallMs / 60_000)).toFixed(1)} tested/min`,
      );
    if (errors) notes.push(`${errors} runtime/compile errors`);
    if (ignored) notes.push(`${ignored} ignored`);
    if (!mutants.length) {
      const tail = output.trim().split('\n').slice(-8).join(' | ');
      notes.push(`no mutant result: ${tail}`);
    }
    return {
      mutantsTested,
      killed,
      survived,
      noCoverage,
      timedOut,
      wallMs,
      mutantsPerMinute,
      note: notes.join('; '),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Sends `signal` to the process group `pid` leads (Stryker and its workers); gone is fine. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {}
}

if (isMain(import.meta.url)) {
  const [repo, minutes] = process.argv.slice(2);
  if (!repo) {
    console.error('usage: node --import tsx bench/stryker.ts <repoDir> [minutes]');
    process.exit(2);
  }
  const r = await runStryker(repo, { minutes: Number(minutes ?? 3), log: console.log });
  console.log(JSON.stringify(r, null, 2));
}
