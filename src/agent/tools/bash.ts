import { z } from 'zod';
import { argsObject, isResult, validate } from './args.js';
import { DEFAULT_OUTPUT_BUDGET, headTail } from './truncate.js';
import { fail, ok, type Tool, type ToolContext, type ToolResult } from './types.js';

export const BASH_DEFAULT_TIMEOUT_S = 60;
export const BASH_MAX_TIMEOUT_S = 600;

export interface BashToolOptions {
  /** Characters of output returned (head + tail); default 16 KiB. */
  outputBudget?: number;
  /** Seconds when the call gives no timeout; default 60. */
  defaultTimeoutS?: number;
}

const SHAPE = '{"command": string, "timeout"?: number (seconds, at most 600)}';

const schema = z.object({
  command: z.string().refine((s) => s.trim() !== '', 'must not be empty'),
  timeout: z.number().positive().max(BASH_MAX_TIMEOUT_S).optional(),
});

// The sandbox marks the bytes it dropped between head and tail with this line.
const SANDBOX_GAP = /\n\[\.\.\. (\d+) bytes omitted \.\.\.\]\n/;

export function bashTool(opts: BashToolOptions = {}): Tool {
  const budget = opts.outputBudget ?? DEFAULT_OUTPUT_BUDGET;
  const defaultTimeout = opts.defaultTimeoutS ?? BASH_DEFAULT_TIMEOUT_S;
  return {
    spec: {
      name: 'bash',
      description:
        'Run a bash command in the repository (the working directory is /repo, the repository ' +
        'root). Each call starts a fresh shell: `cd` and environment variables do not carry ' +
        'over, but files you write do. There is no network and no interactive input; commands ' +
        `that wait for input or run forever are killed after the timeout (default ` +
        `${defaultTimeout} s, at most ${BASH_MAX_TIMEOUT_S} s). The result starts with the exit ` +
        'code, followed by stdout and stderr interleaved. Long output keeps its beginning and ' +
        `end (${budget} characters in all) with a note saying how much was omitted, so filter ` +
        'it yourself (grep, head, tail, sed -n) when you need a specific part.',
      parameters: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'The bash command (or script) to run.' },
          timeout: {
            type: 'number',
            description: `Seconds before the command is killed (default ${defaultTimeout}, at most ${BASH_MAX_TIMEOUT_S}).`,
          },
        },
        required: ['command'],
        additionalProperties: false,
      },
    },
    execute: (args, ctx) => runBash(args, ctx, budget, defaultTimeout),
  };
}

async function runBash(
  raw: unknown,
  ctx: ToolContext,
  budget: number,
  defaultTimeout: number,
): Promise<ToolResult> {
  const obj = argsObject('bash', raw, SHAPE);
  if (isResult(obj)) return obj;
  const args = validate('bash', schema, obj, SHAPE);
  if (isResult(args)) return args;
  const timeoutS = args.timeout ?? defaultTimeout;
  // No command outlives the episode's wall time.
  const asked = Math.round(timeoutS * 1000);
  const left = ctx.timeLeftMs?.() ?? Number.POSITIVE_INFINITY;
  const capped = left < asked;
  const timeoutMs = capped ? Math.max(1, Math.floor(left)) : asked;
  try {
    // stderr joins stdout at the source, so the two stay in the order they were written.
    const r = await ctx.sandbox.exec(`exec 2>&1\n${args.command}`, {
      timeoutMs,
      maxOutputBytes: Math.max(4096, budget * 2),
    });
    let head = r.stdout;
    let tail = '';
    let dropped = 0;
    const gap = r.truncated ? SANDBOX_GAP.exec(r.stdout) : null;
    if (gap) {
      head = r.stdout.slice(0, gap.index);
      tail = r.stdout.slice(gap.index + gap[0].length);
      dropped = Number(gap[1]);
    }
    // Anything on stderr is the sandbox's own (the command's went to stdout).
    if (r.stderr) tail += (tail || head ? '\n' : '') + r.stderr;
    const output = headTail(head, tail, dropped, budget);
    let status: string;
    if (r.timedOut && capped) {
      status =
        `[killed after ${(timeoutMs / 1000).toFixed(1)} s: the episode's wall time ran out, ` +
        'and the command with every process it started was killed]';
    } else if (r.timedOut) {
      status =
        `[timed out after ${timeoutS} s: the command and every process it started were ` +
        'killed. Run long jobs with a larger timeout, or in the background with their ' +
        'output in a file]';
    } else if (r.exitCode === null) {
      status = `[killed by signal ${r.signal ?? 'unknown'}]`;
    } else {
      status = `[exit code ${r.exitCode}]`;
    }
    const body = output === '' ? '(no output)' : output;
    return ok(`${status}\n${body}`);
  } catch (err) {
    return fail(`bash: the command could not be run: ${(err as Error).message}`);
  }
}
