import { relative } from 'node:path';
import type { Command } from 'commander';
import { EXPORT_FORMATS, type ExportResult, exportRun } from '../export/index.js';

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatExportSummary(r: ExportResult): string {
  const path = relative(process.cwd(), r.out) || r.out;
  const pending = !r.pending
    ? ''
    : r.includePending
      ? `; ${r.pending} with a pending reward included (reward null)`
      : `; ${r.pending} with a pending reward left out (--include-pending keeps them)`;
  const missing = r.missingTrajectories
    ? `; ${r.missingTrajectories} trajectory file(s) missing (messages null)`
    : '';
  return `exported ${r.rows} episode(s) to ${path} (${size(r.bytes)})${pending}${missing}\n`;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .summary('write a self-play run as rollouts for an RL trainer (JSONL or Parquet)')
    .description(
      'Write the finished episodes of a self-play run directory as one file for an RL ' +
        'trainer: one row per episode with its final reward, GRPO group and a convenience ' +
        'advantage, the conversation in OpenAI chat-completions shape, and per-turn ' +
        'completion token ids and logprobs when the inference server returned them. ' +
        'Injections whose solvers have not all finished have no reward yet and are left out ' +
        'unless --include-pending. Exit status: 0 done, 2 usage error.',
    )
    .argument('<run-dir>', 'the self-play run directory (holds run.json and journal.jsonl)')
    .requiredOption('--format <format>', `output format: ${EXPORT_FORMATS.join(' or ')}`)
    .option('--out <file>', 'output file (default: <run-dir>/export/episodes.<format>)')
    .option('--include-pending', 'also write episodes whose reward is not final (reward null)')
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  ssr export runs/r1 --format parquet\n' +
        '  ssr export runs/r1 --format jsonl --out rollouts.jsonl --include-pending\n' +
        '  duckdb -c "select group_id, avg(reward) from \'runs/r1/export/episodes.parquet\' group by 1"\n',
    )
    .action(async (runDir: string, o) => {
      const result = await exportRun(runDir, {
        format: o.format,
        out: o.out,
        includePending: !!o.includePending,
      });
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stderr.write(formatExportSummary(result));
    });
}
