import { type Command, InvalidArgumentError } from 'commander';
import {
  DEFAULT_LLM_STRATEGIES,
  injectWithModelRun,
  LLM_STRATEGIES,
  type ModelInjectSummary,
} from '../agent/inject-run.js';
import {
  ALL_STRATEGIES,
  type InjectSummary,
  injectBugs,
  prepareOutputDir,
  TEST_SCOPES,
} from '../inject/pipeline.js';
import { PRODUCT_CODE_RULE } from '../inject/product-code.js';
import { UsageError } from '../util/errors.js';
import { type ModelFlags, modelFromFlags } from './model.js';
import { Progress } from './progress.js';
import { seconds } from './solve.js';
import { addTestOptions, hasTestFlags, testOptionsFromFlags } from './test-options.js';

function count(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

/** `--strategy` names procedural strategies without --model and prompt strategies with it. */
function parseStrategies<S extends string>(value: string, known: readonly S[], mode: string): S[] {
  if (value === 'all') return [...known];
  const out: S[] = [];
  for (const part of value.split(',')) {
    const s = part.trim() as S;
    if (!known.includes(s)) {
      throw new UsageError(
        `unknown strategy "${part}" ${mode} (use ${known.join(', ')}, a comma list, or all)`,
      );
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

function number(name: string, check: (n: number) => boolean, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be ${what}`);
    return n;
  };
}

export function formatModelSummary(s: ModelInjectSummary): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    '',
    `model     ${s.model}`,
    `episodes  ${s.episodes}${s.resumed ? ` (${s.resumed} from an earlier run)` : ''}; tokens ${s.tokens.prompt} prompt, ${s.tokens.completion} completion`,
    `valid     ${s.valid} artifact(s) in ${(s.timeMs / 1000).toFixed(1)} s (${s.validPerMinute} per minute)`,
    '',
    'strategy   tried  valid  yield',
  ];
  for (const [name, st] of Object.entries(s.byStrategy)) {
    lines.push(
      `${name.padEnd(10)} ${String(st.tried).padStart(5)}  ${String(st.valid).padStart(5)}  ${pct(st.yield).padStart(5)}`,
    );
  }
  const list = (title: string, m: Record<string, number>) => {
    const entries = Object.entries(m).sort(([a], [b]) => a.localeCompare(b));
    if (!entries.length) return;
    lines.push('', title);
    for (const [k, n] of entries) lines.push(`  ${k.padEnd(28)} ${n}`);
  };
  list('episodes ended by:', s.endReasons);
  list('no valid artifact because:', s.failures);
  if (s.artifacts.length) {
    lines.push('', `artifacts (${s.out}):`);
    for (const a of s.artifacts) lines.push(`  ${a}`);
  }
  lines.push('', `trajectories: ${s.out}/.ssr/episodes/`);
  if (s.stoppedEarly) lines.push('', 'stopped early: rerun the same command to continue');
  return `${lines.join('\n')}\n`;
}

export function formatSummary(s: InjectSummary): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    '',
    `tests     ${s.framework}; ${s.candidatesAvailable} candidate bugs to try (up to --max-candidates), ${s.tried} tried${s.resumed ? ` (${s.resumed} from an earlier run)` : ''}`,
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

/** The command-line flag of an option key: maxWeakenLines -> --max-weaken-lines. */
function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function registerInject(program: Command, setAbort: (c: AbortController) => void): void {
  const inject = program
    .command('inject')
    .summary('make validated bugs from a repository (procedural, or with --model an LLM)')
    .description(
      'Make validated self-play bugs from a repository. Without --model (no GPU needed): ' +
        'discover how its tests run, propose bugs (removal, history, mutation), weaken the ' +
        'tests that catch each one, and keep the artifacts that pass all seven checks. With ' +
        '--model: run the LLM injector agent (removal or history-aware prompt, 50/50 by ' +
        'default), which writes the five files itself; valid artifacts are kept with their ' +
        'trajectory, and every episode is recorded. Rerun the same command to resume. An ' +
        'episode that ends on a model error (server errors, unreachable) is recorded as an ' +
        'error, without reward, and redone on the rerun; 3 in a row stop the command. ' +
        'Exit status: 0 done, 2 usage error, 4 episodes failed on model errors, 130 stopped ' +
        'early (Ctrl-C).',
    )
    .argument('<repo-dir>', 'the repository (never modified)')
    .requiredOption(
      '--out <dir>',
      'output folder: one subfolder per valid artifact, plus summary.json',
    )
    .option(
      '--strategy <list>',
      'without --model: removal, history, mutation (default all); with --model: direct, ' +
        'removal, history (default removal,history); a comma list, or all',
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
      'candidates processed at once (default: cores); with --model, episodes at once (default 2)',
      count('--concurrency'),
    )
    .option('--timeout <seconds>', 'limit for one test-suite run', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0)
        throw new InvalidArgumentError('--timeout must be > 0 seconds');
      return Math.round(n * 1000);
    })
    .option(
      '--model <url-or-gguf>',
      'use the LLM injector: an OpenAI-compatible URL (e.g. http://127.0.0.1:8000/v1) or a local .gguf file',
    )
    .option(
      '--threads <n>',
      'embedded .gguf model: CPU threads (default: all cores)',
      count('--threads'),
    )
    .option('--model-name <name>', 'model to ask for (default: the first the server lists)')
    .option('--api-key-env <var>', 'environment variable holding the API key (default: none)')
    .option('--text-tool-calls', 'describe tools in the prompt, for models without tool calling')
    .option(
      '--max-episodes <n>',
      'with --model: most injector episodes (default: 4 per wanted artifact)',
      count('--max-episodes'),
    )
    .option(
      '--max-turns <n>',
      'with --model: turns per episode (default 128)',
      count('--max-turns'),
    )
    .option(
      '--max-tokens <n>',
      'with --model: tokens per episode, prompt + completion summed over its model calls (default: no limit)',
      count('--max-tokens'),
    )
    .option(
      '--wall-time <seconds>',
      'with --model: wall time per episode, model calls and commands included (default 3600)',
      seconds('--wall-time'),
    )
    .option(
      '--temperature <t>',
      'with --model: sampling temperature (default: the server default)',
      number('--temperature', (n) => n >= 0 && n <= 2, 'between 0 and 2'),
    )
    .option(
      '--test-scope <scope>',
      "what each artifact's test_script.sh runs: full (the whole suite), covering (only the test files that execute the bug's lines), or auto: full when a clean run takes under 30 s (default auto; candidates are screened on their covering files either way)",
    )
    .option(
      '--max-failing-share <share>',
      'reject bugs that fail more than this share of the passing tests, and more than 10 of them, as too broad (default 0.1)',
      number('--max-failing-share', (n) => n > 0 && n <= 1, 'above 0 and at most 1'),
    )
    .option(
      '--max-weaken-tests <n>',
      'failing tests hidden by test_weaken.diff at most (default 5)',
      count('--max-weaken-tests'),
    )
    .option(
      '--max-weaken-lines <n>',
      'lines test_weaken.diff may remove at most (default 40)',
      count('--max-weaken-lines'),
    )
    .option(
      '--no-warm',
      'screen candidates in fresh test runs only (default: mocha suites are screened in warm runner processes that stay up between candidates, after a calibration run; artifacts are always validated fresh)',
    )
    .option('--json', 'print the summary as one JSON object on stdout')
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run repository code directly on this machine',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  ssr inject ./my-repo --out ./bugs --count 20\n' +
        '  ssr inject ./my-repo --out ./bugs --strategy history,removal --seed 7\n' +
        '  ssr inject ./my-repo --out ./llm-bugs --model http://127.0.0.1:8000/v1 --count 5\n',
    )
    .action(async (repo: string, o) => {
      // A bad --out (a file, inside the repository, unwritable) is a usage error up front.
      prepareOutputDir(o.out, repo);
      if (o.model) {
        if (hasTestFlags(o))
          throw new UsageError(
            '--test-command, --test-format, --test-files and --max-flaky-share are for the procedural injector (with --model the agent writes test_script.sh itself)',
          );
        const procedural = ['testScope', 'maxFailingShare', 'maxWeakenTests', 'maxWeakenLines'];
        const misplaced =
          procedural.find((k) => o[k] !== undefined) ?? (o.warm === false ? 'warm' : undefined);
        if (misplaced) {
          const flag = misplaced === 'warm' ? '--no-warm' : flagOf(misplaced);
          throw new UsageError(
            `${flag} is for the procedural injector (with --model the agent writes the artifact itself)`,
          );
        }
        return injectWithLlm(repo, o, setAbort);
      }
      const discovery = testOptionsFromFlags(o);
      const modelOnly = [
        'modelName',
        'apiKeyEnv',
        'maxEpisodes',
        'maxTurns',
        'maxTokens',
        'wallTime',
        'temperature',
        'threads',
      ];
      const stray = modelOnly.find((k) => o[k] !== undefined);
      if (stray) {
        const flag = flagOf(stray);
        throw new UsageError(`${flag} needs --model (the procedural injector uses no model)`);
      }
      if (o.testScope !== undefined && !TEST_SCOPES.includes(o.testScope)) {
        throw new UsageError(
          `--test-scope must be ${TEST_SCOPES.join(', ')} (got ${JSON.stringify(o.testScope)})`,
        );
      }
      const progress = new Progress();
      const abort = new AbortController();
      setAbort(abort);
      let total = 0;
      const summary = await injectBugs({
        repo,
        out: o.out,
        strategies: parseStrategies(o.strategy ?? 'all', ALL_STRATEGIES, 'without --model'),
        count: o.count,
        seed: o.seed,
        maxCandidates: o.maxCandidates,
        concurrency: o.concurrency,
        settings: o.timeout ? { scriptTimeoutMs: o.timeout } : undefined,
        discovery,
        testScope: o.testScope,
        maxFailingShare: o.maxFailingShare,
        warm: o.warm !== false,
        weakenBounds: {
          ...(o.maxWeakenTests ? { maxTests: o.maxWeakenTests } : {}),
          ...(o.maxWeakenLines ? { maxLines: o.maxWeakenLines } : {}),
        },
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
            // What will be tried of each strategy, and of how many it proposed (the cap).
            const per = Object.entries(e.byStrategy)
              .map(([k, v]) => {
                const pool = e.available[k as keyof typeof e.available] ?? v;
                return pool > v ? `${k} ${v} of ${pool}` : `${k} ${v}`;
              })
              .join(', ');
            progress.line(
              `candidates: ${e.total} to try (${per})${e.resumed ? `; ${e.resumed} done in an earlier run` : ''}`,
            );
            if (e.total === 0)
              progress.line(
                `no candidate bugs found (${PRODUCT_CODE_RULE}; is that code covered by tests?)`,
              );
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
  addTestOptions(inject);
}

interface LlmInjectFlags extends ModelFlags {
  out: string;
  strategy?: string;
  count: number;
  seed: number;
  maxCandidates?: number;
  maxEpisodes?: number;
  maxTurns?: number;
  maxTokens?: number;
  wallTime?: number;
  concurrency?: number;
  temperature?: number;
  timeout?: number;
  threads?: number;
  json?: boolean;
  unsafeNoSandbox?: boolean;
}

async function injectWithLlm(
  repo: string,
  o: LlmInjectFlags,
  setAbort: (c: AbortController) => void,
): Promise<void> {
  if (o.maxCandidates !== undefined)
    throw new UsageError('--max-candidates is for the procedural injector; use --max-episodes');
  const strategies = parseStrategies(
    o.strategy ?? DEFAULT_LLM_STRATEGIES.join(','),
    LLM_STRATEGIES,
    'with --model',
  );
  const model = await modelFromFlags(o);
  const progress = new Progress();
  const abort = new AbortController();
  setAbort(abort);
  progress.line(`injector: ${model.description}; strategies ${strategies.join(', ')}`);
  const summary = await injectWithModelRun({
    repo,
    out: o.out,
    model,
    strategies,
    count: o.count,
    seed: o.seed,
    maxEpisodes: o.maxEpisodes,
    concurrency: o.concurrency,
    budget: {
      ...(o.maxTurns ? { maxTurns: o.maxTurns } : {}),
      ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
      ...(o.wallTime ? { wallTimeMs: o.wallTime } : {}),
    },
    temperature: o.temperature,
    settings: o.timeout ? { scriptTimeoutMs: o.timeout } : undefined,
    allowUnsandboxed: !!o.unsafeNoSandbox,
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'episode-start') {
        if (!progress.tty) progress.line(`episode ${e.index}: ${e.strategy} prompt`);
        return;
      }
      const r = e.record;
      const tokens = r.usage.promptTokens + r.usage.completionTokens;
      const verdict =
        r.outcome === 'valid'
          ? `valid -> ${r.artifactId}`
          : r.outcome === 'invalid'
            ? `rejected: ${r.reason}`
            : `${r.outcome}: ${r.reason}`;
      progress.line(
        `[${e.done}/${e.total}] episode ${r.index} (${r.strategy}, ${r.turns} turns, ${tokens} tokens, ended: ${r.endReason ?? 'error'}): ${verdict}`,
      );
      progress.bar(e.done, e.total, `episodes, ${e.valid} valid`);
    },
  }).catch((err: unknown) => {
    progress.done(); // the error goes on its own line, not after the bar
    throw err;
  });
  progress.done();
  process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : formatModelSummary(summary));
  process.exitCode = summary.stoppedEarly ? 130 : 0;
  if (summary.errors > 0 && !summary.stoppedEarly) {
    process.stderr.write(
      `ssr: ${summary.errors} episode(s) failed on model errors (rerun to redo them): ${summary.lastError}\n`,
    );
    process.exitCode = 4;
  }
}
