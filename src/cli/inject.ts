import { type Command, InvalidArgumentError, Option } from 'commander';
import { ALL_STRATEGIES, type InjectSummary, injectBugs } from '../inject/pipeline.js';
import type { Strategy } from '../inject/types.js';
import { UsageError } from '../util/errors.js';
import { Progress } from './progress.js';

function count(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

function parseStrategies(value: string): Strategy[] {
  if (value === 'all') return ALL_STRATEGIES;
  const out: Strategy[] = [];
  for (const part of value.split(',')) {
    const s = part.trim() as Strategy;
    if (!ALL_STRATEGIES.includes(s)) {
      throw new InvalidArgumentError(
        `unknown strategy "${part}" (use removal, history, mutation or all)`,
      );
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

export function formatSummary(s: InjectSummary): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    '',
    `tests     ${s.framework}; ${s.candidatesAvailable} candidate bugs available, ${s.tried} tried${s.resumed ? ` (${s.resumed} from an earlier run)` : ''}`,
    `valid     ${s.valid} artifact(s) in ${(s.timeMs / 1000).toFixed(1)} s (${s.validPerMinute} per minute)`,
    '',
    'strategy   tried  valid  yield',
  ];
  for (const [name, st] of Object.entries(s.byStrategy)) {
    lines.push(
      `${name.padEnd(10)} ${String(st.tried).padStart(5)}  ${String(st.valid).padStart(5)}  ${pct(st.yield).padStart(5)}`,
    );
  }
  const failures = Object.entries(s.failures).sort(([a], [b]) => a.localeCompare(b));
  if (failures.length) {
    lines.push('', 'rejected by check:');
    for (const [check, n] of failures) lines.push(`  ${check.padEnd(28)} ${n}`);
  }
  if (s.notes.length) {
    lines.push('', 'notes:');
    for (const n of s.notes) lines.push(`  - ${n}`);
  }
  if (s.artifacts.length) {
    lines.push('', `artifacts (${s.out}):`);
    for (const a of s.artifacts) lines.push(`  ${a}`);
  }
  if (s.stoppedEarly) lines.push('', 'stopped early: rerun the same command to continue');
  return `${lines.join('\n')}\n`;
}

export function registerInject(program: Command, setAbort: (c: AbortController) => void): void {
  program
    .command('inject')
    .summary('make validated bugs from a repository, without a model')
    .description(
      'Make validated self-play bugs from a repository without a model: discover how its ' +
        'tests run, propose bugs (removal, history, mutation), weaken the tests that catch ' +
        'each one, and keep the artifacts that pass all seven checks. Rerun the same command ' +
        'to resume. Exit status: 0 done, 2 usage error, 130 stopped early (Ctrl-C).',
    )
    .argument('<repo-dir>', 'the repository (never modified)')
    .requiredOption(
      '--out <dir>',
      'output folder: one subfolder per valid artifact, plus summary.json',
    )
    .addOption(
      new Option('--strategy <list>', 'removal, history, mutation, a comma list, or all')
        .argParser(parseStrategies)
        .default(ALL_STRATEGIES, 'all'),
    )
    .option('--count <n>', 'valid artifacts wanted', count('--count'), 10)
    .option(
      '--seed <n>',
      'seed for choosing candidates (same seed, same artifacts)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n)) throw new InvalidArgumentError('--seed must be an integer');
        return n;
      },
      0,
    )
    .option(
      '--max-candidates <n>',
      'most candidates to try (default: 25 per wanted artifact)',
      count('--max-candidates'),
    )
    .option(
      '--concurrency <n>',
      'candidates processed at once (default: cores)',
      count('--concurrency'),
    )
    .option('--timeout <seconds>', 'limit for one test-suite run', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0)
        throw new InvalidArgumentError('--timeout must be > 0 seconds');
      return Math.round(n * 1000);
    })
    .option('--json', 'print the summary as one JSON object on stdout')
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run repository code directly on this machine',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  ssr inject ./my-repo --out ./bugs --count 20\n' +
        '  ssr inject ./my-repo --out ./bugs --strategy history,removal --seed 7\n',
    )
    .action(async (repo: string, o) => {
      const progress = new Progress();
      const abort = new AbortController();
      setAbort(abort);
      let total = 0;
      const summary = await injectBugs({
        repo,
        out: o.out,
        strategies: o.strategy,
        count: o.count,
        seed: o.seed,
        maxCandidates: o.maxCandidates,
        concurrency: o.concurrency,
        settings: o.timeout ? { scriptTimeoutMs: o.timeout } : undefined,
        allowUnsandboxed: !!o.unsafeNoSandbox,
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'phase') progress.line(`… ${e.message}`);
          else if (e.type === 'discovered') {
            progress.line(
              `tests: ${e.suite.framework}, ${e.suite.testFiles.length} test file(s), ${e.passing} passing` +
                (e.flaky ? `, ${e.flaky} flaky (dropped)` : ''),
            );
          } else if (e.type === 'candidates') {
            total = e.total;
            const per = Object.entries(e.byStrategy)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ');
            progress.line(
              `candidates: ${e.total} to try (${per})${e.resumed ? `; ${e.resumed} done in an earlier run` : ''}`,
            );
            if (e.total === 0)
              progress.line('no candidate bugs found (is the code covered by tests?)');
          } else {
            const r = e.record;
            const verdict =
              r.outcome === 'valid'
                ? `valid -> ${r.artifactId}`
                : r.outcome === 'error'
                  ? `error: ${r.reason}`
                  : `rejected by check ${r.failedCheck?.id} (${r.failedCheck?.name})`;
            if (!progress.tty) {
              progress.line(
                `[${e.index}/${e.total}] ${r.strategy} ${r.operator} ${r.location.file}:${r.location.line}: ${verdict}`,
              );
            } else if (r.outcome === 'valid') {
              progress.line(`valid: ${r.artifactId}  ${r.description}`);
            }
            progress.bar(e.index, total, `candidates, ${e.valid} valid`);
          }
        },
      });
      progress.done();
      if (summary.tried === 0 && summary.candidatesAvailable === 0) {
        throw new UsageError(
          'no candidate bugs could be made from this repository (see notes above)',
        );
      }
      process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
      process.exitCode = summary.stoppedEarly ? 130 : 0;
    });
}
