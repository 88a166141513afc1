/**
 * bench/fetch-repos: the pinned third-party repositories bench/repos.ts runs `ssr inject` on,
 * and how each is fetched and set up offline. Only the npm registry and Debian's archive are
 * reachable here, so every repository comes from one of them:
 *
 * - npm: `npm pack <pkg>@<version>` (the published tarball; only packages that ship their
 *   tests), several releases as consecutive commits where that is cheap (history bugs);
 * - Debian source packages: `apt-get source --download-only` (a deb-src line is added when
 *   none exists and we are root); only the upstream `.orig` tarball is used: the upstream
 *   repository as released, with its tests;
 * - Debian binary packages: `apt-get download` + `dpkg -x`, for libraries whose binary
 *   package carries their tests (Go `-dev` packages, Rust `librust-*-dev` crates, Python
 *   packages with tests inside the package folder, Ruby's bundled gems).
 *
 * Each repository becomes a git repository (one commit, or one per release) with its
 * dependencies installed next to it and git-ignored (.git/info/exclude): node_modules from
 * npm (`npm install --ignore-scripts`), a Maven local repository, vendored crates. Built once
 * under $TMPDIR/ssr-bench-repos/real (downloads under .../downloads) and reused;
 * SSR_BENCH_FRESH=1 rebuilds. None of these packages is one the project's tests use
 * (minimist, node-gyp, shell-quote, entities, @fastify/error, postcss-calc and uvu, chance,
 * strnum, go-cmp, kr/text, fnv, strsim, glob, cJSON): grep test/ before adding one.
 *
 * THROUGHPUT_REPOS, a separate list, holds the two repositories of bench/inject's throughput
 * part (espree, fs-extra); the same fetchRepo builds them.
 *
 * Run alone: node --import tsx bench/fetch-repos.ts [name...]   (fetch and set up, print paths;
 * names may come from either list; without names, all of REPOS)
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMain } from './lib.js';

export const CACHE = join(tmpdir(), 'ssr-bench-repos');
const REAL = join(CACHE, 'real');
const DOWNLOADS = join(CACHE, 'downloads');
/** Bump when a recipe changes, so cached repositories are rebuilt. */
const RECIPE_VERSION = 1;

export type Language =
  | 'JavaScript'
  | 'TypeScript'
  | 'Python'
  | 'Go'
  | 'Rust'
  | 'Java'
  | 'C'
  | 'Ruby';

/** How a summary line of the project's own test command reads: a count and its unit. */
export interface OwnCount {
  tests: number;
  failed: number;
  unit: string;
}

export interface RepoSpec {
  name: string;
  language: Language;
  /** The runner the project itself uses. */
  runner: string;
  /** Where it comes from, for the report. */
  source: string;
  /** Builds the repository in `dir` (empty, created); returns notes on the set-up. */
  build(dir: string): string[];
  /**
   * The project's own test command (its `test` script without lint, type and coverage
   * wrappers), run once in an ssr sandbox (offline, HOME=/tmp) to count its tests.
   */
  ownCommand: string;
  ownCount(log: string): OwnCount | null;
  /** Timeout of the own command (default 300 s). */
  ownTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Shell helpers

function run(
  cmd: string,
  args: string[],
  cwd: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 600_000,
      maxBuffer: 256 * 1024 * 1024,
    }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    const tail = `${e.stdout?.toString() ?? ''}\n${e.stderr?.toString() ?? ''}`
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${tail || e.message}`);
  }
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'ssr-bench',
  GIT_AUTHOR_EMAIL: 'bench@ssr.invalid',
  GIT_COMMITTER_NAME: 'ssr-bench',
  GIT_COMMITTER_EMAIL: 'bench@ssr.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(dir: string, args: string[], date = '2024-01-01T00:00:00Z'): string {
  return run('git', args, dir, {
    env: { ...GIT_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
}

function gitInit(dir: string, exclude: string[]): void {
  git(dir, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.git', 'info', 'exclude'), `${exclude.join('\n')}\n`);
}

function commitAll(dir: string, message: string, date: string): void {
  git(dir, ['add', '-A'], date);
  git(dir, ['commit', '-q', '--allow-empty', '-m', message], date);
}

/** Empties `dir` but for the names in `keep`. */
function clearTree(dir: string, keep: string[]): void {
  for (const e of readdirSync(dir)) {
    if (!keep.includes(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

function moveEntries(from: string, to: string): void {
  for (const e of readdirSync(from)) renameSync(join(from, e), join(to, e));
}

function downloads(): string {
  mkdirSync(DOWNLOADS, { recursive: true });
  // apt's _apt user downloads into it unsandboxed (with a warning) unless it may write.
  chmodSync(DOWNLOADS, 0o777);
  return DOWNLOADS;
}

/** Extracts a tarball into `into` without its top folder. */
function untar(file: string, into: string): void {
  mkdirSync(into, { recursive: true });
  run('tar', ['-xf', file, '-C', into, '--strip-components=1', '--no-same-owner'], into);
}

// ---------------------------------------------------------------------------------------------
// Sources

/** `npm pack <spec>` (cached) unpacked into `into`. */
function npmPack(spec: string, into: string): void {
  const dl = join(downloads(), 'npm');
  mkdirSync(dl, { recursive: true });
  const marker = join(dl, `${spec.replace(/[/@]/g, '_')}.name`);
  if (!existsSync(marker)) {
    const out = run('npm', ['pack', spec, '--json', '--pack-destination', dl], dl);
    writeFileSync(marker, (JSON.parse(out) as { filename: string }[])[0]!.filename);
  }
  untar(join(dl, readFileSync(marker, 'utf8').trim()), into);
}

const DEB_SRC_FILE = '/etc/apt/sources.list.d/ssr-bench-src.sources';

/**
 * Makes sure apt knows Debian's source packages: when no deb-src entry exists and we are root,
 * adds one for the release the deb entries name (DEB_SRC_FILE) and runs apt-get update.
 */
function ensureDebSrc(): void {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d'))
      files.push(`/etc/apt/sources.list.d/${f}`);
  } catch {}
  const texts = files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  });
  if (texts.some((t) => /^\s*(deb-src\s|Types:.*\bdeb-src\b)/m.test(t))) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'no deb-src line in /etc/apt: add one for Debian and run apt-get update (needs root)',
    );
  }
  const suite = texts.map((t) => /^Suites:\s*(\S+)/m.exec(t)?.[1]).find(Boolean) ?? 'bookworm';
  writeFileSync(
    DEB_SRC_FILE,
    `Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: ${suite}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  run('apt-get', ['update', '-q'], '/');
}

/** The upstream tarball of a Debian source package (apt-get source --download-only). */
function debOrig(pkg: string): string {
  const dl = join(downloads(), 'deb-src');
  mkdirSync(dl, { recursive: true });
  chmodSync(dl, 0o777);
  const find = () =>
    readdirSync(dl).find((f) => f.startsWith(`${pkg}_`) && /\.orig\.tar\.[a-z0-9]+$/.test(f));
  let file = find();
  if (!file) {
    ensureDebSrc();
    try {
      run('apt-get', ['source', '--download-only', '-q', pkg], dl);
    } catch (err) {
      // Component tarballs (.orig-<name>.tar) may be missing while the main one came.
      if (!find()) {
        throw new Error(
          `apt-get source ${pkg}: ${(err as Error).message.split('\n').find((l) => /^E:/.test(l)) ?? (err as Error).message}` +
            ` (deb-src entries: ${DEB_SRC_FILE} or your own)`,
        );
      }
    }
    file = find();
  }
  if (!file) throw new Error(`apt-get source ${pkg} brought no .orig tarball`);
  return join(dl, file);
}

/** A Debian binary package unpacked (dpkg -x) into a cached folder; returns that folder. */
function debBinary(pkg: string): string {
  const dl = join(downloads(), 'deb');
  mkdirSync(dl, { recursive: true });
  chmodSync(dl, 0o777);
  const root = join(dl, `${pkg}.x`);
  if (existsSync(join(root, '.done'))) return root;
  let deb = readdirSync(dl).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) {
    run('apt-get', ['download', '-q', pkg], dl);
    deb = readdirSync(dl).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  }
  if (!deb) throw new Error(`apt-get download ${pkg} brought no .deb`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  run('dpkg', ['-x', join(dl, deb), root], dl);
  writeFileSync(join(root, '.done'), deb);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Dependencies

/** devDependencies that tests do not need: linters, formatters, coverage, type tests, publishing. */
const DEV_SKIP =
  /^(eslint.*|@.*\/eslint.*|@typescript-eslint\/.*|xo|standard|snazzy|prettier|nyc|c8|istanbul|codecov|coveralls|aud|npmignore|safe-publish-latest|in-publish|evalmd|eclint|auto-changelog|husky|lint-staged|@commitlint\/.*|tsd|@fastify\/pre-commit|bundt|browserify|module-deps|benchmark|beautify-benchmark|gulp.*)$/;

/**
 * `npm install --ignore-scripts` of the dependencies and devDependencies (minus DEV_SKIP and
 * `skip`), with package.json put back as it was. On failure, installs `fallback` (the test
 * runner) alone. Returns notes.
 */
function npmInstall(dir: string, opts: { skip?: string[]; fallback: string[] }): string[] {
  const pkgPath = join(dir, 'package.json');
  const original = readFileSync(pkgPath, 'utf8');
  const pkg = JSON.parse(original) as { devDependencies?: Record<string, string> };
  const dropped: string[] = [];
  const dev: Record<string, string> = {};
  for (const [k, v] of Object.entries(pkg.devDependencies ?? {})) {
    if (DEV_SKIP.test(k) || opts.skip?.includes(k)) dropped.push(k);
    else dev[k] = v;
  }
  const notes: string[] = [];
  const args = [
    'install',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--no-package-lock',
    '--loglevel=error',
  ];
  try {
    writeFileSync(pkgPath, JSON.stringify({ ...pkg, devDependencies: dev }, null, 2));
    rmSync(join(dir, 'package-lock.json'), { force: true });
    const what = `dependencies + devDependencies${dropped.length ? ` except ${dropped.join(', ')}` : ''}`;
    try {
      run('npm', args, dir);
      notes.push(`npm install --ignore-scripts: ${what}`);
    } catch (err) {
      // Old projects' pins often conflict on peer dependencies (ERESOLVE): npm 6's behaviour.
      if (!/ERESOLVE/.test((err as Error).message)) throw err;
      run('npm', [...args, '--legacy-peer-deps'], dir);
      notes.push(`npm install --ignore-scripts --legacy-peer-deps (ERESOLVE without it): ${what}`);
    }
  } catch (err) {
    const line =
      (err as Error).message.split('\n').find((l) => /npm (error|ERR!) \S/.test(l)) ?? '';
    notes.push(
      `npm install of the devDependencies failed (${line.trim()}); installed ${opts.fallback.join(', ')} only`,
    );
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    run('npm', [...args, '--legacy-peer-deps', '--no-save', ...opts.fallback], dir);
  } finally {
    writeFileSync(pkgPath, original);
  }
  return notes;
}

/** npm releases of one package as consecutive commits, then its dependencies installed. */
function npmReleases(
  pkg: string,
  versions: string[],
  install: { skip?: string[]; fallback: string[] },
): (dir: string) => string[] {
  return (dir) => {
    gitInit(dir, ['node_modules/', 'package-lock.json']);
    const scratch = mkdtempSync(join(tmpdir(), 'ssr-bench-npm-'));
    try {
      versions.forEach((v, i) => {
        const into = join(scratch, v);
        npmPack(`${pkg}@${v}`, into);
        clearTree(dir, ['.git']);
        moveEntries(into, dir);
        commitAll(dir, `${pkg} ${v}`, `2023-0${i + 1}-01T00:00:00Z`);
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    return [
      `${versions.length} npm release(s) as commits: ${versions.join(', ')}`,
      ...npmInstall(dir, install),
    ];
  };
}

/** A Debian source package's upstream tarball as one commit, plus `setup`. */
function debSourceRepo(
  pkg: string,
  exclude: string[],
  setup: (dir: string) => string[] = () => [],
): (dir: string) => string[] {
  return (dir) => {
    const orig = debOrig(pkg);
    untar(orig, dir);
    gitInit(dir, exclude);
    const notes = setup(dir);
    commitAll(dir, `upstream sources of Debian's ${pkg}`, '2023-01-01T00:00:00Z');
    return [
      `upstream tarball of Debian source package ${pkg} (${orig.split('/').pop()})`,
      ...notes,
    ];
  };
}

/** A subtree of a Debian binary package as one commit. */
function debBinaryRepo(
  pkg: string,
  subtree: string,
  opts: { into?: string; extra?: Record<string, string>; exclude?: string[] } = {},
  setup: (dir: string) => string[] = () => [],
): (dir: string) => string[] {
  return (dir) => {
    const root = debBinary(pkg);
    const from = join(root, subtree);
    if (!existsSync(from)) throw new Error(`${pkg} has no ${subtree}`);
    cpSync(from, opts.into ? join(dir, opts.into) : dir, { recursive: true });
    for (const [f, text] of Object.entries(opts.extra ?? {})) writeFileSync(join(dir, f), text);
    gitInit(dir, opts.exclude ?? []);
    const notes = setup(dir);
    commitAll(dir, `${subtree} from Debian's ${pkg}`, '2023-01-01T00:00:00Z');
    const added = Object.keys(opts.extra ?? {});
    return [
      `${subtree} of Debian binary package ${pkg}${added.length ? `, plus ${added.join(', ')} written by the bench` : ''}`,
      ...notes,
    ];
  };
}

/**
 * Vendors crates from Debian's librust-*-dev packages into `vendor/` with a
 * `.cargo/config.toml` source replacement, and writes Cargo.lock with Debian's cargo, so
 * `cargo test --offline` resolves without a registry.
 */
function vendorCrates(crates: string[]): (dir: string) => string[] {
  return (dir) => {
    mkdirSync(join(dir, 'vendor'), { recursive: true });
    for (const pkg of crates) {
      const reg = join(debBinary(pkg), 'usr/share/cargo/registry');
      for (const c of readdirSync(reg))
        cpSync(join(reg, c), join(dir, 'vendor', c), { recursive: true });
    }
    mkdirSync(join(dir, '.cargo'), { recursive: true });
    writeFileSync(
      join(dir, '.cargo', 'config.toml'),
      '[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "vendor"\n',
    );
    run('/usr/bin/cargo', ['generate-lockfile', '--offline'], dir, {
      env: { CARGO_HOME: join(tmpdir(), 'ssr-bench-cargo-home') },
    });
    return [
      crates.length
        ? `dependencies vendored from ${crates.join(', ')} (vendor/ + .cargo/config.toml source replacement; Cargo.lock from /usr/bin/cargo generate-lockfile --offline)`
        : 'no dependencies; Cargo.lock from /usr/bin/cargo generate-lockfile --offline (vendor/ source replacement kept empty)',
    ];
  };
}

/**
 * Maven offline: resolves the build's plugins and dependencies from the host's ~/.m2 (as a
 * file:// mirror, so only what the build uses is copied) into `.m2repo/` inside the repository,
 * and points Maven at it with `.mvn/maven.config` (the sandbox cannot see ~/.m2). When the
 * project's own pom needs plugins ~/.m2 does not have (a parent pom's release tooling),
 * `standalonePom` replaces it (the original is kept as pom.xml.orig) and the resolution is
 * retried.
 */
function mavenLocalRepo(standalonePom: string): (dir: string) => string[] {
  return (dir) => {
    const m2 = join(homedir(), '.m2', 'repository');
    if (!existsSync(m2))
      throw new Error(`no Maven repository at ${m2}: nothing to build offline from`);
    const settings = join(dir, '..', `${dir.split('/').pop()}-settings.xml`);
    writeFileSync(
      settings,
      `<settings><mirrors><mirror><id>central</id><mirrorOf>*</mirrorOf><url>file://${m2}</url></mirror></mirrors></settings>\n`,
    );
    mkdirSync(join(dir, '.mvn'), { recursive: true });
    writeFileSync(join(dir, '.mvn', 'maven.config'), '-Dmaven.repo.local=.m2repo\n');
    const notes: string[] = [];
    const resolve = () =>
      run('mvn', ['-B', '-q', '-s', settings, '-Dmaven.test.failure.ignore=true', 'test'], dir, {
        timeoutMs: 900_000,
      });
    try {
      try {
        resolve();
      } catch (err) {
        const why = (err as Error).message.split('\n').find((l) => /\[ERROR\]/.test(l)) ?? '';
        if (!/could not be resolved|Could not find artifact|Non-resolvable parent/i.test(why))
          throw err;
        renameSync(join(dir, 'pom.xml'), join(dir, 'pom.xml.orig'));
        writeFileSync(join(dir, 'pom.xml'), standalonePom);
        notes.push(
          `the project's pom.xml cannot build offline here (${why.replace(/^\S*\[ERROR\]\s*/, '').slice(0, 160)}); replaced by a standalone pom.xml (same coordinates, test dependencies and surefire excludes; plugin versions found in ~/.m2), the original kept as pom.xml.orig`,
        );
        resolve();
      }
    } finally {
      rmSync(join(dir, 'target'), { recursive: true, force: true });
      rmSync(settings, { force: true });
    }
    // Offline, Maven accepts a cached artifact only if it came from a repository the build
    // knows (central), not from our mirror: without these markers, artifacts count as
    // installed locally and resolve offline.
    run('find', ['.m2repo', '-name', '_remote.repositories', '-delete'], dir);
    notes.push(
      'Maven plugins and dependencies copied from ~/.m2 into .m2repo/ (git-ignored) by one `mvn test` against ~/.m2 as a file:// mirror; .mvn/maven.config sets -Dmaven.repo.local=.m2repo',
    );
    return notes;
  };
}

/** Test files of commons-lang3 3.12.0 that need what ~/.m2 lacks (easymock, jmh, junit-pioneer), and the one that extends one of them. */
const LANG3_UNBUILDABLE_TESTS = [
  'HashSetvBitSetTest',
  'StringUtilsContainsTest',
  'concurrent/BasicThreadFactoryTest',
  'concurrent/ConcurrentUtilsTest',
  'concurrent/MemoizerTest',
  'concurrent/TimedSemaphoreTest',
  'event/EventListenerSupportTest',
  'time/DateFormatUtilsTest',
  'time/DateUtilsTest',
  'time/FastDateFormatTest',
  'time/FastDatePrinterTest',
  'time/FastDateFormat_PrinterTest',
].map((f) => `org/apache/commons/lang3/${f}.java`);

const LANG3_POM = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Standalone build of Apache Commons Lang 3.12.0 for offline use (bench/fetch-repos.ts): the
     upstream pom (pom.xml.orig) inherits commons-parent's release plugins, which ~/.m2 lacks.
     JUnit 5 as upstream (junit-jupiter 5.10.2 instead of 5.7.1, which ~/.m2 lacks);
     the test files that need easymock, jmh or junit-pioneer (not in ~/.m2) are removed. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.apache.commons</groupId>
  <artifactId>commons-lang3</artifactId>
  <version>3.12.0</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.release>8</maven.compiler.release>
  </properties>
  <dependencies>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>5.10.2</version><scope>test</scope></dependency>
    <dependency><groupId>org.hamcrest</groupId><artifactId>hamcrest</artifactId><version>2.2</version><scope>test</scope></dependency>
    <dependency><groupId>com.google.code.findbugs</groupId><artifactId>jsr305</artifactId><version>3.0.2</version><scope>test</scope></dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version>
        <configuration><excludes><exclude>org/apache/commons/lang3/time/Java15BugFastDateParserTest.java</exclude></excludes></configuration>
      </plugin>
    </plugins>
  </build>
</project>
`;

// ---------------------------------------------------------------------------------------------
// Summary-line parsers of the projects' own commands

function lastNum(log: string, re: RegExp): number | null {
  const all = [...log.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}g`))];
  const m = all.at(-1);
  return m ? Number(m[1]) : null;
}

function sumNum(log: string, re: RegExp): number {
  return [...log.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}g`))].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

const counts = {
  mocha(log: string): OwnCount | null {
    const pass = lastNum(log, /^\s*(\d+) passing\b/m);
    if (pass === null) return null;
    const failed = lastNum(log, /^\s*(\d+) failing\b/m) ?? 0;
    return {
      tests: pass + failed + (lastNum(log, /^\s*(\d+) pending\b/m) ?? 0),
      failed,
      unit: 'tests',
    };
  },
  /** tape: the "# name" headers are tests ("# tests/pass/fail" is the assertion summary). */
  tape(log: string): OwnCount | null {
    if (!/^# (pass|fail)\s+\d+/m.test(log)) return null;
    const tests = [...log.matchAll(/^# (.+)$/gm)].filter(
      (m) => !/^(tests|pass|fail|ok|todo|skip)\b/.test(m[1]!),
    ).length;
    return { tests, failed: lastNum(log, /^# fail\s+(\d+)/m) ?? 0, unit: 'tests' };
  },
  /** TAP from node --test / tap: the final plan summary. */
  nodeTest(log: string): OwnCount | null {
    const tests = lastNum(log, /^# tests (\d+)/m);
    return tests === null
      ? null
      : { tests, failed: lastNum(log, /^# fail (\d+)/m) ?? 0, unit: 'tests' };
  },
  /** tap --reporter=tap: each file is a subtest; its tests are the lines indented once. */
  tap(log: string): OwnCount | null {
    const ok = (log.match(/^ {4}ok \d+/gm) ?? []).length;
    const notOk = (log.match(/^ {4}not ok \d+/gm) ?? []).length;
    if (!ok && !notOk) return counts.nodeTest(log);
    return { tests: ok + notOk, failed: notOk, unit: 'tests' };
  },
  /** ava: a mark per test (verbose without a terminal), or the summary lines. */
  ava(log: string): OwnCount | null {
    const pass = (log.match(/^\s*✔/gm) ?? []).length;
    const fail = (log.match(/^\s*✘/gm) ?? []).length;
    const sumPass = lastNum(log, /^\s*(\d+) tests? passed/m);
    const sumFail = lastNum(log, /^\s*(\d+) tests? failed/m);
    if (!pass && !fail && sumPass === null && sumFail === null) return null;
    const failed = sumFail ?? fail;
    return { tests: (sumPass ?? pass) + failed, failed, unit: 'tests' };
  },
  /** uvu's own suite runs each test file with uvu in a child and prints [PASS]/[FAIL] per file. */
  uvu(log: string): OwnCount | null {
    const pass = (log.match(/\[PASS\]/g) ?? []).length;
    const fail = (log.match(/\[FAIL\]/g) ?? []).length;
    if (!pass && !fail) return null;
    return { tests: pass + fail, failed: fail, unit: 'files' };
  },
  jest(log: string): OwnCount | null {
    const m = /^Tests:\s+(.*?)(\d+) total/m.exec(log);
    if (!m) return null;
    return {
      tests: Number(m[2]),
      failed: Number(/(\d+) failed/.exec(m[1]!)?.[1] ?? 0),
      unit: 'tests',
    };
  },
  pytest(log: string): OwnCount | null {
    // "=== 3 passed, 1 failed in 0.12s ===" (or without the rules, with -q)
    const line = [
      ...log.matchAll(/^=*\s*(\d+ (?:passed|failed|errors?)\b.*) in [\d.]+s\b.*$/gm),
    ].at(-1)?.[1];
    if (!line) return null;
    const n = (w: string) => Number(new RegExp(`(\\d+) ${w}`).exec(line)?.[1] ?? 0);
    return {
      tests: n('passed') + n('failed') + n('errors?') + n('skipped') + n('xfailed') + n('xpassed'),
      failed: n('failed') + n('errors?'),
      unit: 'tests',
    };
  },
  unittest(log: string): OwnCount | null {
    const tests = lastNum(log, /^Ran (\d+) tests? in/m);
    if (tests === null) return null;
    const fail = /^FAILED \((.*)\)$/m.exec(log)?.[1] ?? '';
    const n = (w: string) => Number(new RegExp(`${w}=(\\d+)`).exec(fail)?.[1] ?? 0);
    return { tests, failed: n('failures') + n('errors'), unit: 'tests' };
  },
  /** go test -v: every test and subtest has a "--- PASS/FAIL/SKIP" line. */
  go(log: string): OwnCount | null {
    const pass = (log.match(/^\s*--- PASS/gm) ?? []).length;
    const fail = (log.match(/^\s*--- FAIL/gm) ?? []).length;
    const skip = (log.match(/^\s*--- SKIP/gm) ?? []).length;
    if (!pass && !fail) return null;
    return { tests: pass + fail + skip, failed: fail, unit: 'tests+subtests' };
  },
  cargo(log: string): OwnCount | null {
    if (!/^test result:/m.test(log)) return null;
    const p = sumNum(log, /^test result: \w+\. (\d+) passed/m);
    const f = sumNum(log, /^test result: .*?; (\d+) failed/m);
    const i = sumNum(log, /^test result: .*?; (\d+) ignored/m);
    return { tests: p + f + i, failed: f, unit: 'tests' };
  },
  surefire(log: string): OwnCount | null {
    const m = [
      ...log.matchAll(/Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)\s*$/gm),
    ].at(-1);
    if (!m) return null;
    return { tests: Number(m[1]), failed: Number(m[2]) + Number(m[3]), unit: 'tests' };
  },
  ctest(log: string): OwnCount | null {
    const m = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(log);
    return m ? { tests: Number(m[3]), failed: Number(m[2]), unit: 'ctest tests' } : null;
  },
  testUnit(log: string): OwnCount | null {
    const m = [...log.matchAll(/^(\d+) tests, \d+ assertions, (\d+) failures, (\d+) errors/gm)].at(
      -1,
    );
    return m ? { tests: Number(m[1]), failed: Number(m[2]) + Number(m[3]), unit: 'tests' } : null;
  },
};

const GO_ENV =
  'export PATH="$PATH:/usr/lib/go/bin" GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local;';
const PY = 'python3';

function goModule(pkg: string, module: string): (dir: string) => string[] {
  return debBinaryRepo(
    pkg,
    `usr/share/gocode/src/${module}`,
    { extra: { 'go.mod': `module ${module}\n\ngo 1.13\n` } },
    () => ['no dependencies outside the standard library: go.mod written, go test runs offline'],
  );
}

// ---------------------------------------------------------------------------------------------
// The list

export const REPOS: RepoSpec[] = [
  {
    name: 'qs',
    language: 'JavaScript',
    runner: 'tape',
    source: 'npm qs 6.11.0, 6.11.1, 6.11.2 (3 commits)',
    build: npmReleases('qs', ['6.11.0', '6.11.1', '6.11.2'], { fallback: ['tape@5'] }),
    ownCommand: "npx tape 'test/**/*.js'",
    ownCount: counts.tape,
  },
  {
    name: 'bytes',
    language: 'JavaScript',
    runner: 'mocha',
    source: 'Debian source node-bytes 3.1.2 (upstream bytes.js)',
    build: debSourceRepo('node-bytes', ['node_modules/', 'package-lock.json'], (dir) =>
      npmInstall(dir, { fallback: ['mocha@10'] }),
    ),
    ownCommand: 'npx mocha --check-leaks --reporter spec',
    ownCount: counts.mocha,
  },
  {
    name: 'ms',
    language: 'JavaScript',
    runner: 'mocha',
    source: 'Debian source node-ms 2.1.3 (upstream vercel/ms)',
    build: debSourceRepo('node-ms', ['node_modules/'], (dir) =>
      npmInstall(dir, { fallback: ['mocha@10', 'expect.js'] }),
    ),
    ownCommand: 'npx mocha tests.js',
    ownCount: counts.mocha,
  },
  {
    name: 'fastify-plugin-4',
    language: 'JavaScript',
    runner: 'tap',
    source: 'npm fastify-plugin 4.5.0, 4.5.1 (2 commits)',
    build: npmReleases('fastify-plugin', ['4.5.0', '4.5.1'], {
      skip: ['@fastify/type-provider-typebox'],
      fallback: ['tap@16', 'fastify@4', 'proxyquire@2'],
    }),
    ownCommand: 'npx tap --no-coverage --reporter=tap',
    ownCount: counts.tap,
  },
  {
    name: 'fastify-plugin-5',
    language: 'JavaScript',
    runner: 'node:test',
    source: 'npm fastify-plugin 5.0.0, 5.0.1 (2 commits)',
    build: npmReleases('fastify-plugin', ['5.0.0', '5.0.1'], {
      skip: ['@fastify/type-provider-typebox'],
      fallback: ['fastify@5', 'proxyquire@2'],
    }),
    ownCommand: 'node --test --test-reporter=tap',
    ownCount: counts.nodeTest,
  },
  {
    name: 'camelcase',
    language: 'JavaScript',
    runner: 'ava',
    source: 'Debian source node-camelcase 7.0.0 (upstream sindresorhus/camelcase)',
    build: debSourceRepo('node-camelcase', ['node_modules/'], (dir) =>
      npmInstall(dir, { fallback: ['ava@4'] }),
    ),
    ownCommand: 'npx ava',
    ownCount: counts.ava,
  },
  {
    name: 'p-limit',
    language: 'JavaScript',
    runner: 'ava',
    source: 'Debian source node-p-limit 4.0.0 (upstream sindresorhus/p-limit)',
    build: debSourceRepo('node-p-limit', ['node_modules/'], (dir) =>
      npmInstall(dir, {
        fallback: [
          'ava@4',
          'yocto-queue@1',
          'delay@5',
          'in-range@3',
          'random-int@3',
          'time-span@5',
        ],
      }),
    ),
    ownCommand: 'npx ava',
    ownCount: counts.ava,
  },
  {
    name: 'ts-dedent',
    language: 'TypeScript',
    runner: 'jest (ts-jest)',
    source: 'npm ts-dedent 2.1.0, 2.1.1, 2.2.0 (3 commits; src/ with src/__tests__/*.spec.ts)',
    build: npmReleases('ts-dedent', ['2.1.0', '2.1.1', '2.2.0'], {
      fallback: ['jest@27', 'ts-jest@27', 'typescript@4.3', '@types/jest@26'],
    }),
    ownCommand: 'npx jest --ci',
    ownCount: counts.jest,
  },
  {
    name: 'toolz',
    language: 'Python',
    runner: 'pytest',
    source: 'Debian source toolz 0.12.0 (upstream pytoolz/toolz)',
    build: debSourceRepo('toolz', ['.pytest_cache/', '__pycache__/']),
    ownCommand: `${PY} -m pytest -p no:cacheprovider -q toolz`,
    ownCount: counts.pytest,
  },
  {
    name: 'simplejson',
    language: 'Python',
    runner: 'unittest',
    source: 'Debian binary python3-simplejson 3.18.3 (the package folder ships simplejson/tests)',
    build: debBinaryRepo('python3-simplejson', 'usr/lib/python3/dist-packages/simplejson', {
      into: 'simplejson',
      exclude: ['__pycache__/'],
    }),
    ownCommand: `${PY} -m unittest discover -s simplejson/tests -t .`,
    ownCount: counts.unittest,
  },
  {
    name: 'isodate',
    language: 'Python',
    runner: 'unittest',
    source: 'Debian binary python3-isodate 0.6.1 (the package folder ships isodate/tests)',
    build: debBinaryRepo('python3-isodate', 'usr/lib/python3/dist-packages/isodate', {
      into: 'isodate',
      exclude: ['__pycache__/'],
    }),
    ownCommand: `${PY} -m unittest discover -s isodate/tests -t .`,
    ownCount: counts.unittest,
  },
  {
    name: 'pflag',
    language: 'Go',
    runner: 'go test',
    source: 'Debian binary golang-github-spf13-pflag-dev (1.0.6~git20210604)',
    build: goModule('golang-github-spf13-pflag-dev', 'github.com/spf13/pflag'),
    ownCommand: `${GO_ENV} go test -v ./...`,
    ownCount: counts.go,
  },
  {
    name: 'go-humanize',
    language: 'Go',
    runner: 'go test',
    source: 'Debian binary golang-github-dustin-go-humanize-dev 1.0.0',
    build: goModule('golang-github-dustin-go-humanize-dev', 'github.com/dustin/go-humanize'),
    ownCommand: `${GO_ENV} go test -v ./...`,
    ownCount: counts.go,
  },
  {
    name: 'itoa',
    language: 'Rust',
    runner: 'cargo test',
    source: 'Debian binary librust-itoa-dev 1.0.1 (usr/share/cargo/registry/itoa-1.0.1)',
    build: debBinaryRepo(
      'librust-itoa-dev',
      'usr/share/cargo/registry/itoa-1.0.1',
      { exclude: ['target/'] },
      vendorCrates([]),
    ),
    ownCommand: 'cargo test --offline',
    ownCount: counts.cargo,
  },
  {
    name: 'semver',
    language: 'Rust',
    runner: 'cargo test',
    source: 'Debian binary librust-semver-dev 1.0.14 (+ serde vendored from librust-serde-dev)',
    build: debBinaryRepo(
      'librust-semver-dev',
      'usr/share/cargo/registry/semver-1.0.14',
      { exclude: ['target/'] },
      vendorCrates(['librust-serde-dev']),
    ),
    ownCommand: 'cargo test --offline',
    ownCount: counts.cargo,
  },
  {
    name: 'commons-lang3',
    language: 'Java',
    runner: 'Maven Surefire (JUnit 5)',
    source: 'Debian source libcommons-lang3-java 3.12.0 (upstream Apache Commons Lang)',
    build: debSourceRepo('libcommons-lang3-java', ['.m2repo/', 'target/'], (dir) => {
      for (const f of LANG3_UNBUILDABLE_TESTS) rmSync(join(dir, 'src/test/java', f));
      return [
        `${LANG3_UNBUILDABLE_TESTS.length} test files removed (they need easymock, jmh or junit-pioneer, which ~/.m2 lacks; javac would pull excluded ones back in through the source path)`,
        ...mavenLocalRepo(LANG3_POM)(dir),
      ];
    }),
    ownCommand: 'mvn -B -o -Dmaven.test.failure.ignore=true test',
    ownCount: counts.surefire,
    ownTimeoutMs: 900_000,
  },
  {
    name: 'json-c',
    language: 'C',
    runner: 'CTest (CMake)',
    source: 'Debian source json-c 0.16 (upstream json-c/json-c)',
    build: debSourceRepo('json-c', ['build/']),
    ownCommand:
      'cmake -S . -B /tmp/build >/dev/null && cmake --build /tmp/build -j2 >/dev/null && ctest --test-dir /tmp/build',
    ownCount: counts.ctest,
  },
  {
    name: 'rss',
    language: 'Ruby',
    runner: 'test-unit',
    source: "the rss 0.2.9 gem bundled in Debian's libruby3.1 (ships test/)",
    build: debBinaryRepo('libruby3.1', 'usr/lib/ruby/gems/3.1.0/gems/rss-0.2.9'),
    ownCommand: 'ruby -Ilib -Itest test/run-test.rb',
    ownCount: counts.testUnit,
  },
];

/**
 * npmInstall with some packages pinned (or added) in package.json for the install only: the
 * upstream package.json is written back before the repository's commit.
 */
function npmInstallPinned(
  dir: string,
  pins: Record<string, string>,
  opts: { skip?: string[]; fallback: string[]; dev?: boolean },
): string[] {
  const pkgPath = join(dir, 'package.json');
  const original = readFileSync(pkgPath, 'utf8');
  const pkg = JSON.parse(original) as Record<string, Record<string, string> | undefined>;
  const field = opts.dev ? 'devDependencies' : 'dependencies';
  pkg[field] = { ...pkg[field], ...pins };
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));
  try {
    return [
      ...npmInstall(dir, opts),
      `pinned for the install (package.json as upstream): ${Object.entries(pins)
        .map(([k, v]) => `${k}@${v}`)
        .join(', ')}`,
    ];
  } finally {
    writeFileSync(pkgPath, original);
  }
}

/**
 * The two repositories of bench/inject's throughput part (bench/inject-throughput.ts), apart
 * from REPOS: a fast mocha suite (~1,500 tests in a few seconds) and a slow one (~700 tests,
 * ~15-20 s, most of it real file-system work and timers). Both plain JavaScript without a build
 * step. Measured on the 2-core machine while other jobs ran (load ~8): espree 1,483 tests, mocha
 * 4-5 s (3.2 s CPU), 6 product files; fs-extra 698 tests (+2 pending), 17-18 s wall (4.5 s CPU),
 * 28 product files.
 */
export const THROUGHPUT_REPOS: RepoSpec[] = [
  {
    name: 'espree',
    language: 'JavaScript',
    runner: 'mocha',
    source: 'Debian source node-espree 9.4.1 (upstream eslint/espree, ESM)',
    build: debSourceRepo('node-espree', ['node_modules/', 'package-lock.json'], (dir) => {
      // Debian's +dfsg tarball drops tests/fixtures/libraries, so tests/lib/libraries.js
      // throws at load and takes every other file of the mocha run with it: it goes.
      rmSync(join(dir, 'tests/lib/libraries.js'));
      return [
        // acorn 8.8.1 is the release this espree was tested against (and Debian's): later
        // acorns add AST fields (bigint on literals, ...) that 17 fixtures do not expect.
        ...npmInstallPinned(
          dir,
          { acorn: '8.8.1' },
          {
            skip: ['npm-run-all', 'esprima-fb'],
            fallback: ['mocha@10', 'chai@4', 'shelljs@0.8'],
          },
        ),
        "tests/lib/libraries.js removed: Debian's +dfsg tarball drops its fixtures (tests/fixtures/libraries), so it fails at load",
      ];
    }),
    ownCommand: "npx mocha --reporter dot 'tests/lib/**/*.js'",
    ownCount: counts.mocha,
  },
  {
    name: 'fs-extra',
    language: 'JavaScript',
    runner: 'mocha',
    source: 'Debian source node-fs-extra 10.1.0 (upstream jprichardson/node-fs-extra)',
    build: debSourceRepo('node-fs-extra', ['node_modules/', 'package-lock.json'], (dir) =>
      // lib/copy/__tests__/ncp/ncp.test.js requires rimraf, which the devDependencies lack.
      npmInstallPinned(
        dir,
        { rimraf: '^3.0.2' },
        {
          dev: true,
          fallback: ['mocha@10', 'klaw@3', 'klaw-sync@6', 'minimist', 'proxyquire@2', 'rimraf@3'],
        },
      ),
    ),
    // The `unit` script without nyc: test.js adds lib/**/__tests__/*.test.js to a Mocha.
    ownCommand: 'node test.js --reporter spec',
    ownCount: counts.mocha,
  },
];

/**
 * The repository for `spec`, built on first use; returns its path and set-up notes (kept in
 * `<dir>.setup.json`). A failed build leaves nothing behind and throws with the reason.
 */
export function fetchRepo(
  spec: RepoSpec,
  log: (s: string) => void = () => {},
): {
  dir: string;
  notes: string[];
} {
  const dir = join(REAL, `${spec.name}-v${RECIPE_VERSION}`);
  const meta = `${dir}.setup.json`;
  if (process.env.SSR_BENCH_FRESH === '1') {
    rmSync(dir, { recursive: true, force: true });
    rmSync(meta, { force: true });
  }
  if (existsSync(meta) && existsSync(dir)) {
    return { dir, notes: (JSON.parse(readFileSync(meta, 'utf8')) as { notes: string[] }).notes };
  }
  log(`fetching ${spec.name}: ${spec.source}`);
  mkdirSync(REAL, { recursive: true });
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(building);
  try {
    const notes = spec.build(building);
    renameSync(building, dir);
    writeFileSync(meta, JSON.stringify({ source: spec.source, notes }, null, 2));
    return { dir, notes };
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    throw err;
  }
}

if (isMain(import.meta.url)) {
  const wanted = process.argv.slice(2);
  // Names pick from REPOS and THROUGHPUT_REPOS; none: all of REPOS.
  const specs = wanted.length
    ? [...REPOS, ...THROUGHPUT_REPOS].filter((r) => wanted.includes(r.name))
    : REPOS;
  for (const spec of specs) {
    const t0 = performance.now();
    try {
      const { dir, notes } = fetchRepo(spec, console.log);
      console.log(`${spec.name}: ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      for (const n of notes) console.log(`  - ${n}`);
    } catch (err) {
      console.log(`${spec.name}: FAILED ${(err as Error).message}`);
    }
  }
}
