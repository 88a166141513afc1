/**
 * The test-discovery escape hatches every command that discovers a repository's tests takes:
 * `--test-command` with `--test-format`, `--test-files` and `--max-flaky-share`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { checkTestCommand } from '../discovery/custom.js';
import type { TestOverrides } from '../discovery/discover.js';

export interface TestFlags {
  testCommand?: string;
  testFormat?: string;
  testFiles?: string[];
  maxFlakyShare?: number;
}

export const TEST_OPTIONS_HELP =
  '\nWhen discovery cannot read the tests (or picks the wrong way to run them):\n' +
  '  --test-command "<cmd>" runs <cmd> with bash from the repository root, inside the sandbox,\n' +
  '  and --test-format says how to read what it prints:\n' +
  '    tap              TAP on stdout (ok / not ok lines)\n' +
  '    junit:<glob>     JUnit XML files the command writes, e.g. junit:build/test-results/**/*.xml\n' +
  '                     (plain junit: any *.xml it wrote); ids Class#method\n' +
  '    pytest           pytest -v -rA output; ids are pytest node ids\n' +
  '    go-json          go test -json output\n' +
  '    cargo            cargo test output\n' +
  '    exit-code        one test, named after the command: passed when it exits 0\n' +
  '  --test-files <glob...> names the oracle test files (globs relative to the repository; quote\n' +
  '  them so the shell does not expand them). Without --test-command, discovery tries each\n' +
  '  framework it finds evidence for, then runs each test file on its own (its exit code is its\n' +
  '  outcome). A suite whose tests change outcome between two clean runs (over 5% of them by\n' +
  '  default, --max-flaky-share) is rejected: its ids are unstable or it is nondeterministic.\n' +
  '  e.g. --test-command "npx tap --reporter=tap" --test-format tap --test-files \'test/**/*.js\'\n' +
  '       --test-command "./gradlew test --offline" --test-format \'junit:build/test-results/**/*.xml\'\n';

/** Adds the options to `cmd` (help text included). */
export function addTestOptions(cmd: Command): Command {
  return cmd
    .option(
      '--test-command <cmd>',
      'run the tests with this command (bash, from the repository root, in the sandbox) instead of discovering how; needs --test-format',
    )
    .option(
      '--test-format <format>',
      'how to read --test-command output: tap, junit[:<report glob>], pytest, go-json, cargo, exit-code',
    )
    .option(
      '--test-files <glob...>',
      'oracle test files, globs relative to the repository (default: the files the suite runs)',
    )
    .option(
      '--max-flaky-share <percent>',
      'largest share of tests that may change outcome between clean runs before discovery rejects the suite (default 5)',
      (v: string) => {
        const n = Number(v.replace(/%$/, ''));
        if (!Number.isFinite(n) || n < 0 || n > 100)
          throw new InvalidArgumentError('--max-flaky-share must be a percentage from 0 to 100');
        return n;
      },
    )
    .addHelpText('after', TEST_OPTIONS_HELP);
}

/** Whether any of the options was given. */
export function hasTestFlags(o: TestFlags): boolean {
  return (
    o.testCommand !== undefined ||
    o.testFormat !== undefined ||
    o.testFiles !== undefined ||
    o.maxFlakyShare !== undefined
  );
}

/** The discovery options the flags give, checked (one-line UsageErrors). */
export function testOptionsFromFlags(o: TestFlags): TestOverrides {
  checkTestCommand(o);
  const out: TestOverrides = {};
  if (o.testCommand !== undefined) out.testCommand = o.testCommand;
  if (o.testFormat !== undefined) out.testFormat = o.testFormat;
  if (o.testFiles?.length) out.testFiles = o.testFiles;
  if (o.maxFlakyShare !== undefined) out.maxFlakyShare = o.maxFlakyShare / 100;
  return out;
}
