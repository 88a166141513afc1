import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { checkTestCommand } from '../discovery/custom.js';
import type { TestOverrides } from '../discovery/discover.js';
import { UsageError } from '../util/errors.js';
import { DEFAULT_SELFPLAY, type SelfPlaySettings } from './scheduler.js';
import type { SyncMode } from './sync.js';

const positiveInt = z.number().int().min(1);

/**
 * `--config file.yaml`: the settings of the flags, in snake_case, except `repos` (--repo),
 * `strategies` (--strategy) and `higher_order.enabled` (--no-higher-order), plus keys with no
 * flag (`higher_order.*`, `max_tokens_per_turn`, `focus_files`, `test_timeout`). Unknown keys
 * are refused. Keep CONFIG_KEYS_HELP in step.
 */
/** A `repos:` entry: a directory, or one with the test-discovery escape hatches of `ssr inject`. */
const RepoEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    dir: z.string().min(1),
    test_command: z.string().min(1).optional(),
    test_format: z.string().min(1).optional(),
    test_files: z.array(z.string().min(1)).min(1).optional(),
    max_flaky_share: z.number().min(0).max(100).optional(),
  }),
]);

export const SelfPlayFileSchema = z.strictObject({
  repos: z.array(RepoEntrySchema).min(1).optional(),
  model: z.string().min(1).optional(),
  model_name: z.string().min(1).optional(),
  api_key_env: z.string().min(1).optional(),
  text_tool_calls: z.boolean().optional(),
  out: z.string().min(1).optional(),
  steps: positiveInt.optional(),
  injections_per_step: z.number().int().min(0).optional(),
  procedural_per_step: z.number().int().min(0).optional(),
  solver_attempts: positiveInt.optional(),
  alpha: z.number().min(0).max(1).optional(),
  concurrency: positiveInt.optional(),
  test_concurrency: positiveInt.optional(),
  strategies: z
    .array(z.enum(['direct', 'removal', 'history']))
    .min(1)
    .optional(),
  higher_order: z
    .strictObject({
      enabled: z.boolean().optional(),
      max_order: z.number().int().min(2).optional(),
      per_artifact: z.number().int().min(0).optional(),
      per_step: z.number().int().min(0).optional(),
    })
    .optional(),
  max_turns: positiveInt.optional(),
  max_tokens: positiveInt.optional(),
  max_tokens_per_turn: positiveInt.optional(),
  wall_time: z.number().positive().optional(),
  max_consecutive_errors: z.number().int().min(0).optional(),
  temperature: z.number().min(0).max(2).optional(),
  seed: z.number().int().optional(),
  focus_files: z.boolean().optional(),
  test_timeout: z.number().positive().optional(),
  policy_version: z.string().min(1).optional(),
  sync: z.enum(['none', 'file']).optional(),
  sync_timeout: z.number().positive().optional(),
});

export type SelfPlayFile = z.infer<typeof SelfPlayFileSchema>;

/** The keys of a --config file, for `ssr selfplay --help` (and the README). */
export const CONFIG_KEYS_HELP = `Keys of --config (YAML); a flag given as well wins:
  repos: [dir, ...]            --repo, once per repository (relative to the file)
    - dir: vendor/lib          or an entry with how its tests run, for the
      test_command: make check procedural injector (--test-command, --test-format,
      test_format: exit-code   --test-files and --max-flaky-share of ssr inject)
      test_files: ['tests/*.c']
      max_flaky_share: 5
  model, model_name, api_key_env, text_tool_calls, out (relative to the file)
  steps, injections_per_step, procedural_per_step, solver_attempts, alpha,
  concurrency, test_concurrency, seed, max_turns, max_tokens, temperature,
  max_consecutive_errors, policy_version, sync
                               the flags of the same name, in snake_case
  wall_time: <seconds>         --wall-time
  sync_timeout: <seconds>      --sync-timeout
  strategies: [removal, ...]   --strategy removal,history
  higher_order:                --no-higher-order is enabled: false
    enabled: true
    max_order: 2               order of the bugs made (2: the paper)
    per_artifact: 2            failed attempts composed per artifact
    per_step: 4                pooled higher-order bugs solved per step
  max_tokens_per_turn          completion tokens per model call (no flag)
  focus_files: true            hint each injection with a source file (no flag)
  test_timeout: <seconds>      limit of one test-suite run (no flag)
`;

export function readSelfPlayFile(path: string): SelfPlayFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --config ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    // One line: where, and the first line of the message (the parser adds a code frame).
    const first = (err as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const at = err instanceof YAMLParseError && err.linePos ? err.linePos[0] : undefined;
    throw new UsageError(
      `--config ${path}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${first}`,
    );
  }
  const parsed = SelfPlayFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const where = i.path.join('.') || '(top level)';
      return `  ${where}: ${i.message}`;
    });
    throw new UsageError(`--config ${path} has problems:\n${problems.join('\n')}`);
  }
  // Relative repo paths in a config file are relative to the file, not to the shell.
  const base = resolve(path, '..');
  const file = parsed.data;
  if (file.repos)
    file.repos = file.repos.map((r) =>
      typeof r === 'string' ? resolve(base, r) : { ...r, dir: resolve(base, r.dir) },
    );
  if (file.out) file.out = resolve(base, file.out);
  return file;
}

/** Settings from the file, then the flags on top, then the defaults. */
export function settingsFrom(
  file: SelfPlayFile,
  flags: Partial<Omit<SelfPlaySettings, 'sync' | 'tests'>> & {
    sync?: SyncMode;
    /** The --test-* flags: for the one repository named (by --repo or the file). */
    tests?: TestOverrides;
  },
): SelfPlaySettings {
  const d = DEFAULT_SELFPLAY;
  const entries = flags.repos?.length ? flags.repos : file.repos;
  if (!entries?.length) throw new UsageError('name at least one --repo (or repos: in --config)');
  const repos = entries.map((r) => resolve(typeof r === 'string' ? r : r.dir));
  const tests = testsPerRepo(entries, repos, flags.tests);
  if (tests && !(flags.proceduralPerStep ?? file.procedural_per_step ?? d.proceduralPerStep))
    throw new UsageError(
      'how the tests run (--test-command, --test-files, test_command: ...) is for procedural ' +
        'artifacts: set --procedural-per-step (the model injector writes its own test_script.sh)',
    );
  const ho = file.higher_order ?? {};
  const budget = {
    ...(file.max_turns ? { maxTurns: file.max_turns } : {}),
    ...(file.max_tokens ? { maxTokens: file.max_tokens } : {}),
    ...(file.max_tokens_per_turn ? { maxTokensPerTurn: file.max_tokens_per_turn } : {}),
    ...(file.wall_time ? { wallTimeMs: file.wall_time * 1000 } : {}),
    ...flags.budget,
  };
  const temperature = flags.temperature ?? file.temperature;
  const testTimeoutMs =
    flags.testTimeoutMs ?? (file.test_timeout ? file.test_timeout * 1000 : undefined);
  // Only 'file' is stored, so runs started before --sync existed continue unchanged.
  const sync = (flags.sync ?? file.sync ?? 'none') === 'file' ? ('file' as const) : undefined;
  return {
    repos,
    steps: flags.steps ?? file.steps ?? d.steps,
    injectionsPerStep: flags.injectionsPerStep ?? file.injections_per_step ?? d.injectionsPerStep,
    proceduralPerStep: flags.proceduralPerStep ?? file.procedural_per_step ?? d.proceduralPerStep,
    solverAttempts: flags.solverAttempts ?? file.solver_attempts ?? d.solverAttempts,
    alpha: flags.alpha ?? file.alpha ?? d.alpha,
    strategies: flags.strategies ?? file.strategies ?? d.strategies,
    higherOrder: {
      enabled: flags.higherOrder?.enabled ?? ho.enabled ?? d.higherOrder.enabled,
      maxOrder: ho.max_order ?? d.higherOrder.maxOrder,
      perArtifact: ho.per_artifact ?? d.higherOrder.perArtifact,
      perStep: ho.per_step ?? d.higherOrder.perStep,
    },
    budget,
    ...(temperature !== undefined ? { temperature } : {}),
    seed: flags.seed ?? file.seed ?? d.seed,
    focusFiles: file.focus_files ?? d.focusFiles,
    ...(testTimeoutMs ? { testTimeoutMs } : {}),
    ...(sync ? { sync } : {}),
    ...(tests ? { tests } : {}),
  };
}

/** Discovery options per repository directory, from the file's entries and the flags. */
function testsPerRepo(
  entries: (string | Exclude<NonNullable<SelfPlayFile['repos']>[number], string>)[],
  repos: string[],
  flagged: TestOverrides | undefined,
): Record<string, TestOverrides> | undefined {
  const out: Record<string, TestOverrides> = {};
  if (flagged && Object.keys(flagged).length) {
    if (repos.length !== 1)
      throw new UsageError(
        `--test-command, --test-format, --test-files and --max-flaky-share name one repository's tests, and ${repos.length} are given; ` +
          'put them on each entry of repos: in --config instead',
      );
    out[repos[0]!] = flagged;
  }
  entries.forEach((e, i) => {
    if (typeof e === 'string' || out[repos[i]!]) return;
    const flags = {
      ...(e.test_command !== undefined ? { testCommand: e.test_command } : {}),
      ...(e.test_format !== undefined ? { testFormat: e.test_format } : {}),
      ...(e.test_files ? { testFiles: e.test_files } : {}),
    };
    try {
      checkTestCommand(flags);
    } catch (err) {
      throw new UsageError(`--config repos: ${e.dir}: ${(err as Error).message}`);
    }
    const options: TestOverrides = {
      ...flags,
      ...(e.max_flaky_share !== undefined ? { maxFlakyShare: e.max_flaky_share / 100 } : {}),
    };
    if (Object.keys(options).length) out[repos[i]!] = options;
  });
  return Object.keys(out).length ? out : undefined;
}
