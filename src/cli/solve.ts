import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { solveArtifact } from '../agent/solver.js';
import { readArtifact } from '../artifact/artifact.js';
import { BaselineCache } from '../validate/baseline.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import { type ClosableProvider, environmentOptions, openEnvironment } from './environment.js';
import { modelFromFlags } from './model.js';
import { Progress } from './progress.js';

/** Attempts failing on model errors in a row after which the rest are not run. */
const CONSECUTIVE_ERRORS = 3;

/** `--wall-time <seconds>` as ms. */
export function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a number of seconds > 0`);
    return Math.round(n * 1000);
  };
}

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

export function registerSolve(
  program: Command,
  setHost: (h: ClosableProvider | null) => void,
): void {
  environmentOptions(
    program
      .command('solve')
      .summary('run solver attempts on a bug artifact with a model')
      .description(
        'Run n solver episodes on a bug artifact (SSR-SPEC section 4) with a model served over ' +
          'the OpenAI chat-completions API (vLLM, SGLang, llama.cpp server, Ollama, OpenAI). The ' +
          'artifact is validated first. Each attempt starts from the buggy repository with hidden ' +
          'history, gets the reversed test weakening as its issue, and is graded with the oracle ' +
          'tests reset. Prints the solve rate; writes each trajectory to --out. An attempt that ' +
          'ends on a model error (server errors, unreachable) is not graded and counts toward no ' +
          'solve rate; after 3 in a row the rest are not run. Exit status: 0 done, 1 artifact ' +
          'invalid, 2 usage error (bad flag, unreachable server, a --model-name the server does ' +
          'not serve), 4 attempts failed on model errors.',
      )
      .argument('<artifact-dir>', 'the bug artifact'),
  )
    .requiredOption(
      '--model <url-or-gguf>',
      'OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1) or a local .gguf file',
    )
    .option(
      '--threads <n>',
      'embedded .gguf model: CPU threads (default: all cores)',
      positive('--threads'),
    )
    .option('--model-name <name>', 'model to request (default: the first the server lists)')
    .option('--api-key-env <var>', 'environment variable holding the API key (default: none)')
    .option('--attempts <n>', 'independent solver attempts', positive('--attempts'), 1)
    .option('--max-turns <n>', 'model turns per attempt', positive('--max-turns'), 128)
    .option(
      '--max-tokens <n>',
      'tokens per attempt: prompt + completion summed over its model calls (default: no limit)',
      positive('--max-tokens'),
    )
    .option(
      '--wall-time <seconds>',
      'wall time per attempt, model calls and commands included (default 3600)',
      seconds('--wall-time'),
    )
    .option('--temperature <t>', 'sampling temperature', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError('--temperature must be >= 0');
      return n;
    })
    .option('--stream', 'stream model responses')
    .option(
      '--text-tool-calls',
      'for models without native tool calling: tools described in the prompt',
    )
    .option('--out <dir>', 'where trajectories go (default: ssr-solve/<artifact-id>)')
    .option('--json', 'print the summary as one JSON object on stdout')
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run model commands directly on this machine',
    )
    .addHelpText(
      'after',
      '\nExample:\n  ssr solve bugs/textkit-removal-0aaaf5a6 --repo .example/textkit --model http://127.0.0.1:8000/v1 --attempts 8\n',
    )
    .action(async (artifactDir: string, o) => {
      const artifact = readArtifact(artifactDir);
      const model = await modelFromFlags(o);
      const progress = new Progress();
      const { host, snapshot: original } = await openEnvironment(o, setHost);
      try {
        const cache = new BaselineCache();
        progress.line(`… validating ${artifact.metadata.id}`);
        const report = await validateArtifact(artifact, { host, snapshot: original, cache });
        if (!report.valid) {
          process.stderr.write(
            `ssr: artifact is invalid: check ${report.failedCheck!.id} (${report.failedCheck!.name}): ${report.failedCheck!.message}\n`,
          );
          process.exitCode = 1;
          return;
        }
        const key = cache.key(
          original,
          artifact.testScript,
          artifact.testParser,
          DEFAULT_SETTINGS.baselineRuns,
        );
        const baseline = await cache.get(key, () => {
          throw new Error('baseline missing after validation');
        });
        const out = resolve(o.out ?? join('ssr-solve', artifact.metadata.id));
        mkdirSync(out, { recursive: true });
        progress.line(`… ${o.attempts} attempt(s) with ${model.description}`);
        const result = await solveArtifact({
          host,
          original,
          artifact,
          baseline,
          model,
          attempts: o.attempts,
          budget: {
            maxTurns: o.maxTurns,
            ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
            ...(o.wallTime ? { wallTimeMs: o.wallTime } : {}),
          },
          temperature: o.temperature,
          maxConsecutiveErrors: CONSECUTIVE_ERRORS,
          onAttempt: (a, i) => {
            writeFileSync(join(out, `attempt-${i + 1}.json`), `${JSON.stringify(a, null, 1)}\n`);
            const t = a.trajectory;
            const verdict =
              a.error !== undefined
                ? 'model error (not graded)'
                : a.evaluation.solved
                  ? 'solved (+1)'
                  : 'unsolved (-1)';
            progress.line(
              `attempt ${i + 1}/${o.attempts}: ${verdict}` +
                ` after ${t.turns.length} turn(s), ended: ${t.endReason}` +
                (a.evaluation.solved ? '' : `; ${a.error ?? a.evaluation.reason}`),
            );
          },
        });
        const graded = result.attempts.length - result.errors;
        const summary = {
          artifact: artifact.metadata.id,
          model: model.description,
          attempts: result.attempts.length,
          graded,
          errors: result.errors,
          solved: result.solved,
          solveRate: result.solveRate,
          outcomes: result.attempts.map((a) => ({
            outcome: a.error !== undefined ? 'error' : a.evaluation.solved ? 'solved' : 'unsolved',
            solved: a.evaluation.solved,
            reward: a.error !== undefined ? null : a.evaluation.reward,
            endReason: a.trajectory.endReason,
            endDetail: a.trajectory.endDetail,
            turns: a.trajectory.turns.length,
            reason: a.error ?? a.evaluation.reason,
          })),
          out,
        };
        writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
        process.stdout.write(
          o.json
            ? `${JSON.stringify(summary)}\n`
            : `solve rate ${result.solved}/${graded} = ${result.solveRate ?? '-'}` +
                `${result.errors ? ` (${result.errors} attempt(s) failed on model errors, not counted)` : ''}` +
                `\ntrajectories: ${out}\n`,
        );
        if (result.errors > 0) {
          const last = result.attempts.filter((a) => a.error !== undefined).at(-1)!;
          const skipped = o.attempts - result.attempts.length;
          process.stderr.write(
            `ssr: ${result.errors} of ${result.attempts.length} attempt(s) failed on model errors` +
              `${skipped ? ` (the other ${skipped} not run after ${CONSECUTIVE_ERRORS} in a row)` : ''}` +
              `: ${last.error!.replace(/\s*\n\s*/g, ' ')}\n`,
          );
          process.exitCode = 4;
        }
      } finally {
        await host.close();
        setHost(null);
      }
    });
}
