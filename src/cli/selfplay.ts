import { existsSync, statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LLM_STRATEGIES } from '../agent/inject-run.js';
import type { InjectorStrategy } from '../agent/injector.js';
import { CONFIG_KEYS_HELP, readSelfPlayFile, settingsFrom } from '../selfplay/config.js';
import { runSelfPlay, type SelfPlaySettings } from '../selfplay/scheduler.js';
import { SYNC_MODES, type SyncMode } from '../selfplay/sync.js';
import type { StepMetrics } from '../store/run-store.js';
import { UsageError } from '../util/errors.js';
import { modelFromFlags } from './model.js';
import { Progress } from './progress.js';
import { seconds } from './solve.js';
import { addTestOptions, hasTestFlags, testOptionsFromFlags } from './test-options.js';

function int(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return n;
  };
}

function real(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

function strategies(value: string): InjectorStrategy[] {
  const out = value.split(',').map((s) => s.trim()) as InjectorStrategy[];
  const bad = out.find((s) => !LLM_STRATEGIES.includes(s));
  if (bad) throw new InvalidArgumentError(`unknown strategy "${bad}" (direct, removal, history)`);
  return out;
}

const fmt = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));

/** The live line per step. */
export function formatStepLine(m: StepMetrics, steps: number): string {
  const hist = m.solveRateHistogram.join(' ');
  const tokens = m.tokens.prompt + m.tokens.completion;
  return (
    `step ${m.step + 1}/${steps}  valid ${m.validArtifacts}/${m.injections} (${Math.round(m.validRate * 100)}%)` +
    `  solve rate ${fmt(m.meanSolveRate)} [${hist}]` +
    `  reward injector ${fmt(m.meanReward.injector)} solver ${fmt(m.meanReward.solver)}` +
    `  higher-order ${m.higherOrder.valid}/${m.higherOrder.made} made, ${m.higherOrder.attempted} attempted` +
    `  ${(tokens / 1000).toFixed(1)}k tokens  ${(m.timeMs / 1000).toFixed(1)} s`
  );
}

export function registerSelfPlay(program: Command, setAbort: (c: AbortController) => void): void {
  const selfplay = program
    .command('selfplay')
    .summary('the self-play loop: inject, validate, solve, reward, recycle failed attempts')
    .description(
      'Run the self-play loop (SSR-SPEC 5, 7). Each step: K injector episodes (plus ' +
        'procedural artifacts if asked), validation, n solver episodes per valid artifact and ' +
        'per pooled higher-order bug, solve rates and rewards (solver +1/-1; injector -1, ' +
        '-alpha, or 1-(1+alpha)s), and new higher-order bugs from failed attempts. Everything ' +
        'goes to the run directory; kill it at any moment and rerun the same command to ' +
        'continue. An episode that ends on a model or infrastructure error gets no reward, ' +
        'counts toward no solve rate and is not exported; it is redone (twice within the step, ' +
        'then on the rerun), and --max-consecutive-errors failures in a row stop the run. ' +
        'Flags override --config. Exit status: 0 done, 2 usage error (a --model-name the ' +
        'server does not serve included), 4 stopped on model errors (or --sync-timeout), 130 stopped.',
    )
    .option(
      '--repo <dir>',
      'repository to play on (repeat for several)',
      (v, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      '--model <url-or-gguf>',
      'OpenAI-compatible server URL, or a local .gguf file run in-process (both roles use this one policy)',
    )
    .option(
      '--threads <n>',
      'embedded .gguf model: CPU threads (default: all cores)',
      int('--threads', 1),
    )
    .option('--model-name <name>', 'model to ask for (default: the first the server lists)')
    .option('--api-key-env <var>', 'environment variable holding the API key')
    .option('--text-tool-calls', 'describe tools in the prompt, for models without tool calling')
    .option('--out <run-dir>', 'the run directory (created, or continued)')
    .option('--config <file.yaml>', 'settings file (keys below)')
    .option('--steps <n>', 'steps (default 10)', int('--steps', 1))
    .option(
      '--injections-per-step <k>',
      'LLM injector episodes per step (default 4)',
      int('--injections-per-step', 0),
    )
    .option(
      '--procedural-per-step <p>',
      'procedural artifacts mixed in per step (default 0)',
      int('--procedural-per-step', 0),
    )
    .option(
      '--solver-attempts <n>',
      'solver episodes per artifact (default 8)',
      int('--solver-attempts', 1),
    )
    .option('--alpha <a>', 'injector reward alpha (default 0.8)', real('--alpha', 0, 1))
    .option('--concurrency <c>', 'episodes in flight (default 4)', int('--concurrency', 1))
    .option(
      '--test-concurrency <n>',
      'commands running in sandboxes at once, across episodes (default: cores)',
      int('--test-concurrency', 1),
    )
    .option('--strategy <list>', 'injector prompts: removal,history (default), direct', strategies)
    .option('--no-higher-order', 'do not recycle failed attempts into higher-order bugs')
    .option('--max-turns <n>', 'turns per episode (default 128)', int('--max-turns', 1))
    .option(
      '--max-tokens <n>',
      'tokens per episode, prompt + completion summed over its model calls (default: no limit)',
      int('--max-tokens', 1),
    )
    .option(
      '--wall-time <seconds>',
      'wall time per episode, model calls and commands included (default 3600)',
      seconds('--wall-time'),
    )
    .option(
      '--max-consecutive-errors <n>',
      'stop after this many episodes in a row fail on model errors (default 3; 0: never)',
      int('--max-consecutive-errors', 0),
    )
    .option('--temperature <t>', 'sampling temperature', real('--temperature', 0, 2))
    .option('--seed <n>', 'seed for strategies and focus files (default 0)', int('--seed', 0))
    .option(
      '--policy-version <v>',
      'policy version recorded on every episode (policy.version; export column policy_version), so a trainer can drop stale rollouts',
    )
    .addOption(
      new Option(
        '--sync <mode>',
        "file: after each step write sync/step-N.jsonl + step-N.ready.json and wait for the trainer's sync/policy-N.json before the next (default none)",
      ).choices(SYNC_MODES),
    )
    .option(
      '--sync-timeout <seconds>',
      '--sync file: stop (exit 4) when no policy file comes within this (default: wait forever)',
      seconds('--sync-timeout'),
    )
    .option('--json', "print each step's metrics as one JSON line on stdout")
    .option('--unsafe-no-sandbox', 'if bubblewrap is unavailable, run code unisolated')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  ssr selfplay --repo ./my-repo --model http://127.0.0.1:8000/v1 --out runs/r1 --steps 20\n' +
        '  ssr selfplay --config selfplay.yaml            # repos, model, out, steps... in YAML\n' +
        '\nThe run directory holds artifacts/, trajectories/, journal.jsonl and metrics.jsonl;\n' +
        'hand it to `ssr export` (trainer rows) or `ssr dashboard`.\n\n' +
        'Online RL (--sync file), after each step N (numbered from 0, as in the journal):\n' +
        '  1. ssr writes sync/step-N.jsonl (the rows of `ssr export` for step N), then\n' +
        '     sync/step-N.ready.json {"step", "rows", "export", "policy_version"}\n' +
        '  2. the trainer trains on it and writes sync/policy-N.json {"version": "v2",\n' +
        '     "model": "<optional new model name>"} (tmp file + rename; or POST it to\n' +
        '     /v1/runs/<run>/policy of `ssr serve --run-root`)\n' +
        '  3. ssr samples step N+1 with that version (and model), and so on; it does not\n' +
        '     wait after the last step. Killed anywhere, rerun the same command.\n\n' +
        CONFIG_KEYS_HELP,
    )
    .action(async (o) => {
      const file = o.config ? readSelfPlayFile(o.config) : {};
      const flags: Parameters<typeof settingsFrom>[1] = {
        repos: o.repo,
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(o.injectionsPerStep !== undefined ? { injectionsPerStep: o.injectionsPerStep } : {}),
        ...(o.proceduralPerStep !== undefined ? { proceduralPerStep: o.proceduralPerStep } : {}),
        ...(o.solverAttempts !== undefined ? { solverAttempts: o.solverAttempts } : {}),
        ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
        ...(o.strategy ? { strategies: o.strategy } : {}),
        ...(o.higherOrder === false
          ? { higherOrder: { enabled: false } as SelfPlaySettings['higherOrder'] }
          : {}),
        budget: {
          ...(o.maxTurns ? { maxTurns: o.maxTurns } : {}),
          ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
          ...(o.wallTime ? { wallTimeMs: o.wallTime } : {}),
        },
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.sync ? { sync: o.sync as SyncMode } : {}),
        ...(hasTestFlags(o) ? { tests: testOptionsFromFlags(o) } : {}),
      };
      const settings = settingsFrom(file, flags);
      for (const r of settings.repos) {
        if (!existsSync(r) || !statSync(r).isDirectory())
          throw new UsageError(`--repo ${r} is not a directory`);
      }
      if (settings.injectionsPerStep + settings.proceduralPerStep === 0)
        throw new UsageError(
          'nothing to play: --injections-per-step and --procedural-per-step are both 0',
        );
      const out = o.out ?? file.out;
      if (!out) throw new UsageError('name the run directory with --out (or out: in --config)');
      const modelUrl = o.model ?? file.model;
      if (!modelUrl)
        throw new UsageError('name the model server with --model (or model: in --config)');
      const model = await modelFromFlags({
        model: modelUrl,
        modelName: o.modelName ?? file.model_name,
        apiKeyEnv: o.apiKeyEnv ?? file.api_key_env,
        textToolCalls: o.textToolCalls ?? file.text_tool_calls,
        threads: o.threads,
      });
      const progress = new Progress();
      const abort = new AbortController();
      setAbort(abort);
      let done = 0;
      progress.line(
        `self-play: ${settings.repos.length} repo(s), ${settings.steps} steps, K=${settings.injectionsPerStep}` +
          `${settings.proceduralPerStep ? ` + ${settings.proceduralPerStep} procedural` : ''}, n=${settings.solverAttempts}, ` +
          `alpha=${settings.alpha}; model ${model.description}; run ${out}`,
      );
      const summary = await runSelfPlay({
        settings,
        model,
        out,
        concurrency: o.concurrency ?? file.concurrency,
        testConcurrency: o.testConcurrency ?? file.test_concurrency,
        maxConsecutiveErrors: o.maxConsecutiveErrors ?? file.max_consecutive_errors,
        policyVersion: o.policyVersion ?? file.policy_version ?? null,
        syncTimeoutMs:
          o.syncTimeout ?? (file.sync_timeout ? Math.round(file.sync_timeout * 1000) : undefined),
        allowUnsandboxed: !!o.unsafeNoSandbox,
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'step-start') {
            if (e.resumed)
              progress.line(
                `step ${e.step + 1}: continuing (${e.resumed} records from an earlier run)`,
              );
          } else if (e.type === 'episode') {
            done++;
            const r = e.record;
            if (r.outcome === 'error')
              progress.line(`  ${r.id} ${r.role}: error (no reward, to be redone): ${r.reason}`);
            else if (!progress.tty)
              progress.line(
                `  ${r.id} ${r.role}: ${r.outcome}${r.reward !== null ? ` (reward ${r.reward})` : ''}`,
              );
            progress.bar(done, done, `episodes this run`);
          } else if (e.type === 'step') {
            progress.line(formatStepLine(e.metrics, settings.steps));
            if (o.json) process.stdout.write(`${JSON.stringify(e.metrics)}\n`);
          } else if (e.type === 'note') {
            progress.line(`note: ${e.message}`);
          } else if (e.type === 'sync-ready') {
            const r = e.ready;
            progress.line(
              `step-${r.step} exported: sync/${r.export} (${r.rows} rows` +
                `${r.pending ? `, ${r.pending} pending` : ''}), sync/step-${r.step}.ready.json`,
            );
          } else if (e.type === 'sync-waiting') {
            progress.line(`step-${e.step} done; waiting for the trainer's policy (${e.file})`);
          } else if (e.type === 'sync-policy') {
            progress.line(
              `policy after step-${e.step}: version ${e.version}${e.model ? `, model ${e.model}` : ''}`,
            );
          }
        },
      }).catch((err: unknown) => {
        progress.done(); // the error goes on its own line, not after the bar
        throw err;
      });
      progress.done();
      if (summary.stoppedEarly) {
        progress.line('stopped early: rerun the same command to continue');
        process.exitCode = 130;
      } else {
        progress.line(`done: ${summary.steps.length} step(s) in ${summary.out}`);
      }
    });
  addTestOptions(selfplay);
}
