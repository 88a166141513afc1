import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { SkippedArtifact } from '../export/artifact-source.js';
import {
  EXPORT_FORMATS,
  type ExportResult,
  exportHarbor,
  exportRun,
  exportSweBench,
  type HarborExportResult,
  type SweBenchExportResult,
} from '../export/index.js';
import { SandboxHost } from '../sandbox/local.js';
import { UsageError } from '../util/errors.js';

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Relative to the working directory when that is shorter to read, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export function formatExportSummary(r: ExportResult): string {
  const pending = !r.pending
    ? ''
    : r.includePending
      ? `; ${r.pending} with a pending reward included (reward null)`
      : `; ${r.pending} with a pending reward left out (--include-pending keeps them)`;
  const missing = r.missingTrajectories
    ? `; ${r.missingTrajectories} trajectory file(s) missing (messages null)`
    : '';
  return `exported ${r.rows} episode(s) to ${shown(r.out)} (${size(r.bytes)})${pending}${missing}\n`;
}

function notExported(label: string, list: SkippedArtifact[]): string {
  return list.map((s) => `  ${label} ${s.id}: ${s.reason}\n`).join('');
}

export function formatHarborSummary(r: HarborExportResult): string {
  const existing = r.existing.length ? `, ${r.existing.length} already there` : '';
  const check = !r.written.length
    ? ''
    : r.verified
      ? ' (each passed its oracle check: reward 0 on the start state, 1 after solution/solve.sh)'
      : ' (not checked: --no-verify)';
  // Each task that was not written got its line as it happened.
  const failed = r.failed.length ? `; ${r.failed.length} not written (see above)` : '';
  return (
    `wrote ${r.written.length} Harbor task(s) to ${shown(r.out)}${existing}${check}${failed}\n` +
    notExported('skipped', r.skipped)
  );
}

export function formatSweBenchSummary(r: SweBenchExportResult): string {
  const head = r.written
    ? `wrote ${r.instances} SWE-bench instance(s) to ${shown(r.out)}`
    : `wrote no SWE-bench instance: every artifact failed (${shown(r.out)} not written)`;
  return `${head}\n` + notExported('not written', r.failed) + notExported('skipped', r.skipped);
}

const TASK_ONLY = [
  'baseImage',
  'repoPath',
  'repo',
  'repoName',
  'concurrency',
  'agentTimeout',
  'unsafeNoSandbox',
  'noVerify',
];
const FLAG: Record<string, string> = {
  baseImage: '--base-image',
  repoPath: '--repo-path',
  repo: '--repo',
  repoName: '--repo-name',
  concurrency: '--concurrency',
  agentTimeout: '--agent-timeout',
  includePending: '--include-pending',
  unsafeNoSandbox: '--unsafe-no-sandbox',
  noVerify: '--no-verify',
};

/** Flags that mean nothing for the chosen format are refused, not silently ignored. */
function refuseFlags(format: string, o: Record<string, unknown>, names: string[]): void {
  const set: Record<string, unknown> = { ...o, noVerify: o.verify === false ? true : undefined };
  const given = names.filter((n) => set[n] !== undefined && set[n] !== false);
  if (given.length)
    throw new UsageError(
      `${given.map((n) => FLAG[n]).join(', ')} does not apply to --format ${format}`,
    );
}

/** Sandboxes of one export, registered so that Ctrl-C removes them before exiting. */
function openHost(
  allowUnsandboxed: boolean,
  setHost: (h: SandboxHost | null) => void,
): SandboxHost {
  const host = SandboxHost.open({
    allowUnsandboxed,
    maxConcurrentCommands: availableParallelism(),
  });
  setHost(host);
  return host;
}

async function closeHost(
  host: SandboxHost | undefined,
  setHost: (h: SandboxHost | null) => void,
): Promise<void> {
  await host?.close();
  setHost(null);
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number >= 1`);
  return n;
}

export function registerExport(
  program: Command,
  setHost: (h: SandboxHost | null) => void = () => {},
): void {
  program
    .command('export')
    .summary('write rollouts (JSONL, Parquet) or tasks (Harbor, SWE-bench) for trainers')
    .description(
      'Rollouts (--format jsonl|parquet, from a self-play run directory): one row per ' +
        'finished episode with its final reward, GRPO group, a convenience advantage, the ' +
        'conversation in OpenAI chat-completions shape, per-turn token ids and logprobs when the ' +
        'inference server returned them, and the policy that sampled it. Injections whose ' +
        'solvers have not all finished have no reward yet and are left out unless ' +
        '--include-pending.\n\n' +
        'Tasks (--format harbor|swe-bench, from a run directory or an ssr inject output): one ' +
        'task per valid artifact, solver role. harbor writes a Harbor task folder each ' +
        '(instruction.md, task.toml, environment/Dockerfile, tests/test.sh, solution/solve.sh), ' +
        'and first checks it in a sandbox: its verifier must give reward 0 on the start state ' +
        'and 1 after the reference solution, or the task is not written. swe-bench writes ' +
        'SWE-bench instances as JSONL that ssr eval reads back.\n\n' +
        'Exit status: 0 done, 1 some tasks failed their check, 2 usage error.',
    )
    .argument(
      '<dir>',
      'a self-play run directory (run.json), or for tasks an ssr inject --out folder',
    )
    .requiredOption('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')}`)
    .option(
      '--out <path>',
      'output: a file for jsonl/parquet/swe-bench (default <dir>/export/...), a folder for harbor (required)',
    )
    .option(
      '--include-pending',
      'jsonl/parquet: also write episodes whose reward is not final (reward null)',
    )
    .option(
      '--base-image <image>',
      'harbor: the image each task starts FROM (required); with --repo-path it holds the repository',
    )
    .option(
      '--repo-path <path>',
      'harbor: where the repository is inside --base-image (e.g. /testbed); without it the repository is copied in to /repo',
    )
    .option('--no-verify', 'harbor: write tasks without running their oracle check')
    .option('--concurrency <n>', 'harbor: tasks checked at once (default: half the cores)')
    .option('--agent-timeout <seconds>', 'harbor: [agent] timeout_sec of each task (default 3600)')
    .option(
      '--repo <dir>',
      'harbor/swe-bench: the original repository, if it moved since the artifacts were made',
    )
    .option(
      '--repo-name <owner/name>',
      'swe-bench: the repo field of each instance (default local/<folder>)',
    )
    .option(
      '--unsafe-no-sandbox',
      'harbor/swe-bench: run without bubblewrap (trusted repositories only)',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  ssr export runs/r1 --format parquet\n' +
        '  ssr export runs/r1 --format jsonl --out rollouts.jsonl --include-pending\n' +
        '  ssr export bugs/ --format harbor --out harbor-tasks --base-image node:20-bookworm\n' +
        '  ssr export runs/r1 --format harbor --out tasks --base-image my/swe-image:latest --repo-path /testbed\n' +
        '  ssr export runs/r1 --format swe-bench --out tasks.jsonl && ssr eval tasks.jsonl --model ...\n' +
        '  duckdb -c "select group_id, avg(reward) from \'runs/r1/export/episodes.parquet\' group by 1"\n',
    )
    .action(async (dir: string, o) => {
      const print = (result: unknown, text: string) => {
        if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stderr.write(text);
      };
      if (!(EXPORT_FORMATS as readonly string[]).includes(o.format))
        throw new UsageError(
          `unknown export format "${o.format}" (use ${EXPORT_FORMATS.join(', ')})`,
        );
      if (o.format === 'harbor') {
        refuseFlags(o.format, o, ['includePending', 'repoName']);
        if (!o.out) throw new UsageError('--out <folder> is required for --format harbor');
        const agentTimeout = positive('--agent-timeout', o.agentTimeout);
        const host = o.verify !== false ? openHost(!!o.unsafeNoSandbox, setHost) : undefined;
        const result = await exportHarbor(dir, {
          host,
          out: o.out,
          baseImage: o.baseImage,
          repoPath: o.repoPath,
          repo: o.repo,
          verify: o.verify !== false,
          concurrency: positive('--concurrency', o.concurrency),
          ...(agentTimeout ? { agentTimeoutSec: agentTimeout } : {}),
          allowUnsandboxed: !!o.unsafeNoSandbox,
          onTask: (e) => {
            if (o.json) return;
            if (e.kind === 'written') process.stderr.write(`task ${e.id}: written\n`);
            else if (e.kind === 'failed')
              process.stderr.write(`task ${e.id}: not written: ${e.reason}\n`);
          },
        }).finally(() => closeHost(host, setHost));
        print(result, formatHarborSummary(result));
        if (result.failed.length) process.exitCode = 1;
        return;
      }
      if (o.format === 'swe-bench') {
        refuseFlags(o.format, o, [
          'includePending',
          'baseImage',
          'repoPath',
          'concurrency',
          'agentTimeout',
          'noVerify',
        ]);
        const host = openHost(!!o.unsafeNoSandbox, setHost);
        const result = await exportSweBench(dir, {
          host,
          out: o.out,
          repo: o.repo,
          repoName: o.repoName,
        }).finally(() => closeHost(host, setHost));
        print(result, formatSweBenchSummary(result));
        if (result.failed.length) process.exitCode = 1;
        return;
      }
      refuseFlags(o.format, o, TASK_ONLY);
      if (!existsSync(join(dir, 'run.json')) && existsSync(join(dir, 'summary.json')))
        throw new UsageError(
          `${dir}: an ssr inject output has no episodes: use --format harbor or swe-bench for its artifacts`,
        );
      const result = await exportRun(dir, {
        format: o.format,
        out: o.out,
        includePending: !!o.includePending,
      });
      print(result, formatExportSummary(result));
    });
}
