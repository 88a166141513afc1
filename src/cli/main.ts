import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readArtifact } from '../artifact/artifact.js';
import { detectCapabilities } from '../sandbox/capabilities.js';
import { SsrError } from '../util/errors.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import { registerDashboard } from './dashboard.js';
import { environmentOptions, openEnvironment } from './environment.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { formatReport } from './format.js';
import { registerInject } from './inject.js';
import { disposeModels } from './model.js';
import { registerSelfPlay } from './selfplay.js';
import { registerServe } from './serve.js';
import { registerSolve } from './solve.js';

const VERSION = '0.1.0';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number >= 0`);
    return n;
  };
}

function secondsToMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('must be a number of seconds > 0');
  return Math.round(n * 1000);
}

/** Where the current command's sandboxes live, so Ctrl-C can remove them before exiting. */
let activeHost: { close(): Promise<void> } | null = null;
/** Long commands that stop gracefully on the first Ctrl-C (finished work is kept). */
let activeAbort: AbortController | null = null;

function onSignal(signal: NodeJS.Signals) {
  if (activeAbort && !activeAbort.signal.aborted) {
    process.stderr.write(`\nssr: ${signal}: finishing the current step (again to quit now)\n`);
    activeAbort.abort();
    process.once(signal, onSignal);
    return;
  }
  process.stderr.write(`\nssr: interrupted (${signal}); cleaning up sandboxes\n`);
  void (activeHost?.close() ?? Promise.resolve()).finally(() =>
    process.exit(signal === 'SIGINT' ? 130 : 143),
  );
}

export function buildProgram(): Command {
  const program = new Command('ssr')
    .description(
      'Self-play SWE-RL toolkit: validated, test-specified bugs from real repositories.\n' +
        'Every command that runs repository code does it inside a bubblewrap sandbox.',
    )
    .version(VERSION)
    // Parse errors in one line, like every other usage error.
    .configureOutput({
      outputError: (str, write) =>
        write(`ssr: ${str.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();

  environmentOptions(
    program
      .command('validate')
      .summary('run the seven consistency checks on a bug artifact')
      .description(
        'Run the seven consistency checks (SSR-SPEC section 3) on a bug artifact, each test ' +
          'run in a fresh sandbox. Exit status: 0 valid, 1 invalid (the report names the ' +
          'failing check), 2 usage error.',
      )
      .argument(
        '<artifact-dir>',
        'folder with test_script.sh, test_files.txt, test_parser.py, bug_inject.diff, test_weaken.diff',
      ),
  )
    .option('--json', 'print the full report as one JSON object on stdout')
    .option(
      '--min-passing <n>',
      'check 3: tests that must pass on the original',
      positiveInt('--min-passing'),
      DEFAULT_SETTINGS.minPassingTests,
    )
    .option(
      '--min-failing <n>',
      'check 5: passing tests the bug must break',
      positiveInt('--min-failing'),
      DEFAULT_SETTINGS.minFailingTests,
    )
    .option(
      '--min-changed-files <n>',
      'check 4: source files the bug must change',
      positiveInt('--min-changed-files'),
      DEFAULT_SETTINGS.minChangedFiles,
    )
    .option(
      '--max-changed-lines <n>',
      'check 4: most lines the bug may change',
      positiveInt('--max-changed-lines'),
      DEFAULT_SETTINGS.maxChangedLines,
    )
    .option(
      '--baseline-runs <n>',
      'clean runs used to detect flaky tests',
      positiveInt('--baseline-runs'),
      DEFAULT_SETTINGS.baselineRuns,
    )
    .addOption(
      new Option('--timeout <seconds>', 'limit for one run of test_script.sh')
        .argParser(secondsToMs)
        .default(DEFAULT_SETTINGS.scriptTimeoutMs, `${DEFAULT_SETTINGS.scriptTimeoutMs / 1000}`),
    )
    .addOption(
      new Option('--concurrency <n>', 'test runs at once')
        .argParser(positiveInt('--concurrency'))
        .default(DEFAULT_SETTINGS.concurrency),
    )
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run artifact commands directly on this machine',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  ssr validate examples/artifacts/textkit-wrap-width --repo examples/repos/textkit\n' +
        '  ssr validate ./bug --docker swebench/sweb.eval.x86_64.astropy__astropy-12907 --repo-path /testbed\n',
    )
    .action(async (artifactDir: string, o) => {
      const artifact = readArtifact(artifactDir);
      const { host, snapshot } = await openEnvironment(o, (h) => {
        activeHost = h;
      });
      try {
        const tty = process.stderr.isTTY && !o.json;
        const report = await validateArtifact(artifact, {
          host,
          snapshot,
          settings: {
            minPassingTests: o.minPassing,
            minFailingTests: o.minFailing,
            minChangedFiles: o.minChangedFiles,
            maxChangedLines: o.maxChangedLines,
            baselineRuns: Math.max(1, o.baselineRuns),
            scriptTimeoutMs: o.timeout,
            concurrency: Math.max(1, o.concurrency),
          },
          onProgress: tty ? (m) => process.stderr.write(`\x1b[2K\r… ${m}`) : undefined,
        });
        if (tty) process.stderr.write('\x1b[2K\r');
        process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : formatReport(report));
        process.exitCode = report.valid ? 0 : 1;
      } finally {
        await host.close();
        activeHost = null;
      }
    });

  registerInject(program, (c) => {
    activeAbort = c;
  });
  registerSolve(program, (h) => {
    activeHost = h;
  });
  registerSelfPlay(program, (c) => {
    activeAbort = c;
  });
  registerExport(program, (h) => {
    activeHost = h;
  });
  registerDashboard(program);
  registerServe(program, (h) => {
    activeHost = h;
  });
  registerEval(program, (h) => {
    activeHost = h;
  });

  program
    .command('doctor')
    .summary('show what the sandbox can enforce on this machine')
    .description('Show what the sandbox can enforce on this machine (isolation, forks, limits).')
    .option('--json', 'print as JSON')
    .action((o) => {
      const caps = detectCapabilities();
      const info = {
        bubblewrap: caps.bwrap ?? 'missing',
        overlayForks: caps.overlay,
        processLimit: caps.cgroup.pidsParent !== null,
        memoryLimit: caps.cgroup.memoryParent !== null,
        cgroupVersion: caps.cgroup.version,
        notes: caps.notes,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const yes = (b: boolean) => (b ? 'yes' : 'no');
      process.stdout.write(
        [
          `bubblewrap isolation   ${caps.bwrap ? `yes (${caps.bwrap})` : 'no'}`,
          `overlay forks (O(1))   ${yes(caps.overlay)}`,
          `process-count limit    ${yes(info.processLimit)}`,
          `memory limit           ${yes(info.memoryLimit)}`,
          ...caps.notes.map((n) => `note: ${n}`),
          '',
        ].join('\n'),
      );
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    await disposeModels();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    await disposeModels();
    if (err instanceof CommanderError) {
      // Help and --version exit 0; every other parse problem is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof SsrError) {
      process.stderr.write(`ssr: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(
      `ssr: internal error: ${(err as Error)?.message ?? err}\n` +
        (process.env.SSR_DEBUG
          ? `${(err as Error)?.stack}\n`
          : '(set SSR_DEBUG=1 for a stack trace)\n'),
    );
    return 3;
  }
}

process.exitCode = await main(process.argv);
