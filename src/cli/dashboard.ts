import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { writeReport } from '../dashboard/report.js';
import { startDashboard } from '../dashboard/server.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
}

/** Best effort: a headless machine has no browser, and the URL is printed anyway. */
function openBrowser(url: string): void {
  try {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // ignored on purpose
  }
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .summary('browse a self-play run or an inject output in a web page')
    .description(
      'Serve a local web page over a self-play run directory (plots per step, artifacts with ' +
        'their diffs, test maps and validation report, every injector episode including the ' +
        'rejected ones, solver attempts, trajectories turn by turn) or over an `ssr inject` ' +
        'output folder (artifacts and yield). A live run is followed as it grows (only the ' +
        'new journal records are read). Binds 127.0.0.1 unless --host is given. Runs until ' +
        'Ctrl-C.',
    )
    .argument('<dir>', 'a self-play run directory (run.json) or an ssr inject --out folder')
    .option('--port <port>', 'port to listen on (0 picks a free one)', port, 8484)
    .option(
      '--host <host>',
      'address to bind (not loopback, e.g. 0.0.0.0: anyone on the network can read the run)',
      '127.0.0.1',
    )
    .option('--open', 'open the page in a browser (xdg-open)')
    .action(async (dir: string, o) => {
      const d = await startDashboard({ dir, port: o.port, host: o.host });
      process.stdout.write(`ssr dashboard: ${d.url}\n`);
      if (o.open) openBrowser(d.url);
      // Serve until the process is interrupted (main's signal handler exits).
      await new Promise<never>(() => {});
    });

  program
    .command('report')
    .summary('write a self-contained HTML report of a run')
    .description(
      'Write one static HTML file with the dashboard plots (pre-rendered SVG), the yield ' +
        'table and the artifact list, with the plotted data embedded as JSON. The file ' +
        'loads nothing from the network and needs no server.',
    )
    .argument('<dir>', 'a self-play run directory (or an ssr inject --out folder)')
    .requiredOption('--out <file>', 'the HTML file to write, e.g. report.html')
    .action((dir: string, o) => {
      const path = writeReport(dir, o.out);
      process.stderr.write(`wrote ${relative(process.cwd(), path) || path}\n`);
    });
}
