/**
 * bench/repos: `ssr inject` on real third-party repositories, one at a time, each within a
 * wall-clock budget. The list and how each repository is fetched and set up offline live in
 * bench/fetch-repos.ts (18 repositories, 8 languages, from npm and Debian's archive).
 *
 * Per repository, measured in the same run:
 * - the project's own test command (its `test` script without lint/coverage wrappers), run
 *   once in an ssr sandbox, and the test count its summary line reports: the baseline that
 *   says whether the repository has a working test command here at all;
 * - `injectBugs` (count 3, seed 0) in a child process, stopped at the budget (Ctrl-C style:
 *   candidates in flight finish) and killed 90 s after it: the runner ssr discovered and the
 *   passing tests it found, valid artifacts, tried/valid per strategy, time to the first and
 *   the third valid bug (from the start, discovery included), and when it yields nothing,
 *   the failure class with ssr's own error line.
 *
 * Target (the issue's): every repository with a working test command yields at least 3 valid
 * bugs in 10 minutes on 2 cores.
 *
 * Run: node --import tsx bench/repos.ts [--budget-min 10] [--out FILE.md] [--keep] [name...]
 *      node --import tsx bench/repos.ts --list          (the repositories and their sources)
 *      node --import tsx bench/repos.ts --own-only      (fetch, run the own commands, no inject)
 * The full list takes up to (budget + own suite) x repositories: ~3 h at 10 minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type InjectEvent, injectBugs } from '../src/inject/pipeline.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { errorMessage } from '../src/util/errors.js';
import { fetchRepo, type OwnCount, REPOS, type RepoSpec } from './fetch-repos.js';
import { emitSummary, isMain, type SummaryRow, table, verdict } from './lib.js';

const COUNT = 3;
const TARGET_MIN = 10;
/** After the budget, candidates in flight may finish; the child is killed this much later. */
const GRACE_MS = 90_000;
const STRATEGIES = ['removal', 'history', 'mutation'] as const;

/** What the child process reports, one JSON object per stdout line. */
type ChildEvent =
  | { type: 'phase'; t: number; message: string }
  | {
      type: 'discovered';
      t: number;
      framework: string;
      passing: number;
      flaky: number;
      testFiles: number;
      notes: string[];
    }
  | { type: 'candidates'; t: number; total: number; byStrategy: Record<string, number> }
  | {
      type: 'candidate';
      t: number;
      strategy: string;
      outcome: string;
      check?: string;
      reason?: string;
      where: string;
      valid: number;
    }
  | {
      type: 'done';
      t: number;
      valid: number;
      tried: number;
      stoppedEarly: boolean;
      notes: string[];
    }
  | { type: 'error'; t: number; message: string };

interface OwnRun {
  exitCode: number | null;
  timedOut: boolean;
  ms: number;
  count: OwnCount | null;
  /** The last output lines, for the report when no count was read. */
  tail: string;
}

interface Row {
  spec: RepoSpec;
  setup: string[];
  fetchError?: string;
  own?: OwnRun;
  events: ChildEvent[];
  wallMs: number;
  killed: boolean;
  /** The budget: valid bugs found later (candidates in flight finishing) do not count. */
  budgetMs: number;
  failure: string;
}

// ---------------------------------------------------------------------------------------------
// Child: one injectBugs run, events as JSON lines

async function child(repo: string, out: string, budgetMs: number): Promise<void> {
  const t0 = performance.now();
  const t = () => Math.round(performance.now() - t0);
  const say = (e: ChildEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);
  const host = SandboxHost.open();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), budgetMs);
  // Interrupted (by the parent, past the budget's grace period): no new candidate starts; if
  // the run has not ended 20 s later (e.g. still discovering), the sandboxes are closed and
  // the process exits, before the parent's SIGKILL would leave them behind.
  process.on('SIGINT', () => {
    stop.abort();
    setTimeout(() => {
      say({ type: 'error', t: t(), message: 'interrupted past the budget' });
      void host.close().finally(() => process.exit(130));
    }, 20_000).unref();
  });
  try {
    const summary = await injectBugs({
      repo,
      out,
      count: COUNT,
      seed: 0,
      host,
      signal: stop.signal,
      onEvent: (e: InjectEvent) => {
        if (e.type === 'phase') say({ type: 'phase', t: t(), message: e.message });
        else if (e.type === 'discovered') {
          say({
            type: 'discovered',
            t: t(),
            framework: e.suite.framework,
            passing: e.passing,
            flaky: e.flaky,
            testFiles: e.suite.testFiles.length,
            notes: e.suite.notes,
          });
        } else if (e.type === 'candidates') {
          say({ type: 'candidates', t: t(), total: e.total, byStrategy: e.byStrategy });
        } else {
          say({
            type: 'candidate',
            t: t(),
            strategy: e.record.strategy,
            outcome: e.record.outcome,
            check: e.record.failedCheck?.name,
            reason: e.record.reason?.split('\n')[0]?.slice(0, 300),
            where: `${e.record.operator} ${e.record.location.file}:${e.record.location.line}`,
            valid: e.valid,
          });
        }
      },
    });
    say({
      type: 'done',
      t: t(),
      valid: summary.valid,
      tried: summary.tried,
      stoppedEarly: summary.stoppedEarly,
      notes: summary.notes,
    });
  } catch (err) {
    say({ type: 'error', t: t(), message: errorMessage(err) });
  } finally {
    clearTimeout(timer);
    await host.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parent

/** The project's own test command, once, in a sandbox over the repository. */
async function runOwn(host: SandboxHost, spec: RepoSpec, dir: string): Promise<OwnRun> {
  const sandbox = host.create(host.snapshotDir(dir));
  try {
    const r = await sandbox.exec(`(${spec.ownCommand}) 2>&1`, {
      timeoutMs: spec.ownTimeoutMs ?? 300_000,
      maxOutputBytes: 4 * 1024 * 1024,
    });
    // Colour codes out (some runners colour even without a terminal).
    const log = r.stdout.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    const lines = log
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return {
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      ms: r.durationMs,
      count: spec.ownCount(log),
      tail: lines.slice(-3).join(' / ').slice(0, 300),
    };
  } finally {
    await sandbox.dispose();
  }
}

/** The inject child running now; Ctrl-C is passed on to it (a second one kills it). */
let running: ChildProcess | null = null;
let interrupted = 0;

function onInterrupt(): void {
  interrupted++;
  const pid = running?.pid;
  if (pid) {
    try {
      process.kill(-pid, interrupted > 1 ? 'SIGKILL' : 'SIGINT');
    } catch {}
  }
  if (interrupted > 1 || !pid) process.exit(130);
}

function runChild(
  repo: string,
  out: string,
  budgetMs: number,
  onEvent: (e: ChildEvent) => void,
): Promise<{ killed: boolean; stderr: string }> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', self, '--child', repo, out, String(budgetMs)],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    running = proc;
    let buf = '';
    let stderr = '';
    let killed = false;
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          onEvent(JSON.parse(line) as ChildEvent);
        } catch {
          // not an event line (a library printing to stdout)
        }
        nl = buf.indexOf('\n');
      }
    });
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    // The child stops itself at the budget; past the grace period it is interrupted (it lets
    // running candidates finish, then closes its sandboxes), and 30 s later killed.
    const soft = setTimeout(() => {
      killed = true;
      if (proc.pid) process.kill(-proc.pid, 'SIGINT');
    }, budgetMs + GRACE_MS);
    const hard = setTimeout(
      () => {
        if (proc.pid) {
          try {
            process.kill(-proc.pid, 'SIGKILL');
          } catch {}
        }
      },
      budgetMs + GRACE_MS + 30_000,
    );
    proc.on('error', reject);
    proc.on('close', () => {
      running = null;
      clearTimeout(soft);
      clearTimeout(hard);
      resolve({ killed, stderr });
    });
  });
}

function secs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(0)} s`;
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? s
  );
}

function perStrategy(events: ChildEvent[]): Record<string, { tried: number; valid: number }> {
  const out: Record<string, { tried: number; valid: number }> = {};
  for (const s of STRATEGIES) out[s] = { tried: 0, valid: 0 };
  for (const e of events) {
    if (e.type !== 'candidate') continue;
    out[e.strategy] ??= { tried: 0, valid: 0 };
    const st = out[e.strategy]!;
    st.tried++;
    if (e.outcome === 'valid') st.valid++;
  }
  return out;
}

/** Valid candidates found within the budget (the child's clock starts with injectBugs). */
function validInBudget(row: Pick<Row, 'events' | 'budgetMs'>): ChildEvent[] {
  return row.events.filter(
    (e) => e.type === 'candidate' && e.outcome === 'valid' && e.t <= row.budgetMs,
  );
}

/** Why a repository yielded fewer than COUNT valid bugs, with ssr's own words. */
function failureClass(row: Omit<Row, 'failure'>): string {
  if (row.fetchError) return `fetch: ${firstLine(row.fetchError)}`;
  const ev = row.events;
  const err = ev.find((e) => e.type === 'error');
  const phases = ev.filter((e) => e.type === 'phase');
  const lastPhase = phases.at(-1)?.message ?? 'starting';
  if (err && err.type === 'error') return `${lastPhase}: ${firstLine(err.message)}`;
  const cands = ev.filter((e) => e.type === 'candidate');
  const valid = validInBudget(row).length;
  if (valid >= COUNT) return '';
  if (!ev.some((e) => e.type === 'done') && !cands.length) {
    return row.killed
      ? `budget ran out while ${lastPhase} (killed)`
      : `child ended without a result while ${lastPhase}`;
  }
  const total = ev.find((e) => e.type === 'candidates');
  if (total?.type === 'candidates' && total.total === 0) return 'no candidates';
  const byCheck = new Map<string, { n: number; example: string }>();
  for (const c of cands) {
    if (c.outcome === 'valid') continue;
    const key = c.outcome === 'error' ? 'error' : (c.check ?? 'invalid');
    const cur = byCheck.get(key) ?? { n: 0, example: '' };
    cur.n++;
    if (!cur.example && c.reason) cur.example = `${c.where}: ${c.reason}`;
    byCheck.set(key, cur);
  }
  const top = [...byCheck.entries()].sort((a, b) => b[1].n - a[1].n);
  const late = cands.filter((e) => e.outcome === 'valid').length - valid;
  const head = `${valid}/${cands.length} valid in budget${late ? ` (+${late} after it)` : ''}`;
  if (!top.length) return head;
  return `${head}; rejected: ${top.map(([k, v]) => `${k} x${v.n}`).join(', ')}; e.g. ${top[0]![1].example.slice(0, 200)}`;
}

function ownCell(own: OwnRun | undefined): string {
  if (!own) return '-';
  if (own.count) {
    const f = own.count.failed ? ` (${own.count.failed} fail)` : '';
    return `${own.count.tests}${own.count.unit === 'tests' ? '' : ` ${own.count.unit}`}${f}`;
  }
  return own.timedOut ? 'timeout' : `none (exit ${own.exitCode})`;
}

function working(row: Row): boolean {
  return !!row.own?.count && row.own.count.tests > 0;
}

function cells(row: Row): string[] {
  const ev = row.events;
  const disc = ev.find((e) => e.type === 'discovered');
  const valids = ev.filter((e) => e.type === 'candidate' && e.outcome === 'valid');
  const st = perStrategy(ev);
  const valid = valids.length;
  return [
    row.spec.name,
    row.spec.language,
    row.spec.runner,
    disc?.type === 'discovered' ? disc.framework : '-',
    disc?.type === 'discovered'
      ? `${disc.passing}${disc.flaky ? ` (+${disc.flaky} flaky)` : ''}`
      : '-',
    ownCell(row.own),
    `${validInBudget(row).length}${valid > validInBudget(row).length ? ` (+${valid - validInBudget(row).length} late)` : ''}`,
    ...STRATEGIES.map((s) => `${st[s]!.valid}/${st[s]!.tried}`),
    secs(valids[0]?.t),
    secs(valids[COUNT - 1]?.t),
    secs(row.wallMs),
  ];
}

const HEAD = [
  'repo',
  'lang',
  'own runner',
  'ssr runner',
  'ssr tests',
  'own tests',
  'valid',
  'removal',
  'history',
  'mutation',
  '1st',
  '3rd',
  'wall',
];

function markdown(rows: Row[], budgetMin: number, totals: string[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const md = (r: string[]) => `| ${r.map(esc).join(' | ')} |`;
  const out = [
    `# ssr inject on real repositories`,
    '',
    `count ${COUNT}, seed 0, budget ${budgetMin} min per repository, ${availableParallelism()} cores, ${new Date().toISOString()}`,
    '',
    md([...HEAD, 'failure']),
    md([...HEAD, 'failure'].map(() => '---')),
    ...rows.map((r) => md([...cells(r), r.failure])),
    '',
    ...totals.map((t) => `${t}  `),
    '',
    '## Repositories',
    '',
  ];
  for (const r of rows) {
    out.push(`### ${r.spec.name} (${r.spec.language}, ${r.spec.runner})`, '');
    out.push(`- source: ${r.spec.source}`);
    for (const n of r.setup) out.push(`- set-up: ${n}`);
    out.push(`- own command: \`${r.spec.ownCommand}\``);
    if (r.own) {
      out.push(
        `- own command result: exit ${r.own.exitCode}${r.own.timedOut ? ' (timed out)' : ''}, ${(r.own.ms / 1000).toFixed(1)} s, ${r.own.count ? `${r.own.count.tests} ${r.own.count.unit}, ${r.own.count.failed} failed` : `no summary line; last line: ${r.own.tail}`}`,
      );
    }
    const disc = r.events.find((e) => e.type === 'discovered');
    if (disc?.type === 'discovered') {
      out.push(
        `- ssr discovery: ${disc.framework}, ${disc.passing} passing, ${disc.testFiles} oracle file(s)`,
      );
      for (const n of disc.notes.slice(0, 4)) out.push(`  - ${n}`);
    }
    const cand = r.events.find((e) => e.type === 'candidates');
    if (cand?.type === 'candidates') {
      out.push(
        `- candidates: ${cand.total} (${Object.entries(cand.byStrategy)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`,
      );
    }
    if (r.fetchError)
      out.push(`- fetch failed: ${r.fetchError.split('\n').slice(0, 6).join(' / ')}`);
    const err = r.events.find((e) => e.type === 'error');
    if (err?.type === 'error')
      out.push(`- ssr error: ${err.message.split('\n').slice(0, 12).join(' / ')}`);
    if (r.failure) out.push(`- failure: ${r.failure}`);
    out.push('');
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let budgetMin = TARGET_MIN;
  let outFile: string | undefined;
  let keep = false;
  let ownOnly = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--budget-min') budgetMin = Number(argv[++i]);
    else if (a === '--out') outFile = argv[++i];
    else if (a === '--keep') keep = true;
    else if (a === '--own-only') ownOnly = true;
    else if (a === '--list') {
      console.log(
        table([
          ['repo', 'language', 'runner', 'source'],
          ...REPOS.map((r) => [r.name, r.language, r.runner, r.source]),
        ]),
      );
      return;
    } else if (a.startsWith('-')) throw new Error(`unknown flag ${a}`);
    else names.push(a);
  }
  if (!(budgetMin > 0)) throw new Error('--budget-min takes a positive number of minutes');
  const unknown = names.filter((n) => !REPOS.some((r) => r.name === n));
  if (unknown.length) {
    throw new Error(
      `unknown repo(s) ${unknown.join(', ')}; known: ${REPOS.map((r) => r.name).join(', ')}`,
    );
  }
  const specs = names.length ? REPOS.filter((r) => names.includes(r.name)) : REPOS;
  const budgetMs = budgetMin * 60_000;
  const languages = new Set(specs.map((s) => s.language));
  console.log(
    `bench/repos: ssr inject --count ${COUNT} on ${specs.length} repositories in ${languages.size} languages, ` +
      `budget ${budgetMin} min each, ${availableParallelism()} cores`,
  );

  const rows: Row[] = [];
  const host = SandboxHost.open();
  process.on('SIGINT', onInterrupt);
  try {
    for (const spec of specs) {
      if (interrupted) break;
      console.log(`\n== ${spec.name} (${spec.language}, ${spec.runner})`);
      const base: Omit<Row, 'failure'> = {
        spec,
        setup: [],
        events: [],
        wallMs: 0,
        killed: false,
        budgetMs,
      };
      let dir: string;
      try {
        const f = fetchRepo(spec, (s) => console.log(`   ${s}`));
        dir = f.dir;
        base.setup = f.notes;
      } catch (err) {
        base.fetchError = errorMessage(err);
        const row = { ...base, failure: failureClass(base) };
        rows.push(row);
        console.log(`   ${row.failure}`);
        continue;
      }
      base.own = await runOwn(host, spec, dir);
      console.log(
        `   own command: exit ${base.own.exitCode}, ${(base.own.ms / 1000).toFixed(1)} s, ${base.own.count ? `${base.own.count.tests} ${base.own.count.unit} (${base.own.count.failed} failed)` : `no summary line: ${base.own.tail}`}`,
      );
      if (ownOnly) {
        rows.push({ ...base, failure: '' });
        continue;
      }
      const out = mkdtempSync(join(tmpdir(), `ssr-bench-repos-${spec.name}-`));
      const t0 = performance.now();
      try {
        const res = await runChild(dir, out, budgetMs, (e) => {
          base.events.push(e);
          if (e.type === 'discovered') {
            console.log(
              `   [${secs(e.t)}] discovered ${e.framework}: ${e.passing} passing, ${e.flaky} flaky`,
            );
          } else if (e.type === 'candidates') {
            console.log(`   [${secs(e.t)}] candidates: ${e.total} ${JSON.stringify(e.byStrategy)}`);
          } else if (e.type === 'candidate') {
            console.log(
              `   [${secs(e.t)}] ${e.strategy} ${e.where}: ${e.outcome}${e.check ? ` (${e.check})` : ''}${e.outcome !== 'valid' && e.reason ? `: ${e.reason.slice(0, 160)}` : ''}`,
            );
          } else if (e.type === 'error') {
            console.log(`   [${secs(e.t)}] error: ${firstLine(e.message)}`);
          } else if (e.type === 'phase') {
            console.log(`   [${secs(e.t)}] ${e.message}`);
          }
        });
        base.killed = res.killed;
        if (
          !base.events.some((e) => e.type === 'done' || e.type === 'error') &&
          res.stderr.trim()
        ) {
          base.events.push({
            type: 'error',
            t: performance.now() - t0,
            message: res.stderr.trim().split('\n').slice(-3).join('\n'),
          });
        }
      } finally {
        base.wallMs = performance.now() - t0;
        if (keep) console.log(`   output kept in ${out}`);
        else rmSync(out, { recursive: true, force: true });
      }
      const row = { ...base, failure: failureClass(base) };
      rows.push(row);
      if (row.failure) console.log(`   failure: ${row.failure}`);
    }
  } finally {
    await host.close();
  }

  console.log('');
  console.log(
    table([[...HEAD, 'failure'], ...rows.map((r) => [...cells(r), r.failure.slice(0, 120)])]),
  );
  const valid3 = (r: Row) => validInBudget(r).length >= COUNT;
  const workingRows = rows.filter(working);
  const met = workingRows.filter(valid3);
  const targetMet = workingRows.length > 0 && met.length === workingRows.length;
  const totals = [
    `repositories: ${rows.length} in ${languages.size} languages; with a working test command (own command reports tests): ${workingRows.length}`,
    `repositories with >= ${COUNT} valid bugs / with a working test command: ${met.length}/${workingRows.length} (all repositories: ${rows.filter(valid3).length}/${rows.length})`,
    `target: every repository with a working test command yields >= ${COUNT} valid bugs in ${TARGET_MIN} minutes on 2 cores -> ${verdict(targetMet)}` +
      (budgetMin === TARGET_MIN
        ? ''
        : ` (measured with a ${budgetMin}-minute budget, not the target's ${TARGET_MIN})`),
  ];
  console.log('');
  for (const t of totals) console.log(t);
  if (outFile) {
    writeFileSync(outFile, markdown(rows, budgetMin, totals));
    console.log(`markdown written to ${outFile}`);
  }
  const rowsOut: SummaryRow[] = [
    {
      bench: 'repos',
      metric: `repos with >= ${COUNT} valid bugs in ${budgetMin} min`,
      value: `${met.length}/${workingRows.length}`,
      baseline: `${workingRows.length} with a working test command`,
      ratio: '',
      target: `all, in ${TARGET_MIN} min`,
      met: budgetMin === TARGET_MIN ? targetMet : null,
    },
  ];
  emitSummary(rowsOut);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else if (isMain(import.meta.url)) {
  await main();
}
