/**
 * Candidates for Ruby projects: minitest (each test file on its own, verbose) and RSpec (its JSON
 * report). Both run with the system's ruby; gems come from where ruby finds them (Debian's
 * ruby-* packages, or an installed bundle), not from the network.
 */
import { MINITEST_PARSER, RSPEC_PARSER, TEST_UNIT_PARSER } from './parsers-ruby.js';
import type { RepoScan } from './scan.js';
import {
  type Candidate,
  header,
  idFiles,
  listedFiles,
  perFile,
  toolAvailable,
  uniqueSorted,
} from './script-pieces.js';

const RUBY_EXCLUDED = /^(vendor|\.bundle|pkg|tmp)\//;
/** minitest's, test-unit's and Rake::TestTask's default test file names. */
const MINITEST_FILE = /(^|\/)test\/(.*\/)?([^/]*_test|test_[^/]*)\.rb$/;
const HELPER = /(^|\/)(test_helper|helper)\.rb$/;
const MINITEST_HELPER = /(^|\/)test\/(test_helper|helper)\.rb$/;
const DEFINES_TESTS = /\bdef test_|Minitest::(Test|Spec)|\bdescribe\b.*\bdo\b/;
const SPEC_FILE = /(^|\/)spec\/(.*\/)?[^/]*_spec\.rb$/;

/**
 * The oracle files of a test/ suite: the test files and every other Ruby file under test/
 * (test_helper.rb, shared TestCase classes, assertions): a solver must not pass by editing them.
 */
function withHelpers(scan: RepoScan, files: string[]): string[] {
  const helpers = scan.match(/(^|\/)test\/(.*\/)?[^/]*\.rb$/).filter((f) => !RUBY_EXCLUDED.test(f));
  return uniqueSorted([...files, ...helpers]);
}

/** Which Ruby gem declarations (Gemfile, *.gemspec) mention `gem`. */
function declares(scan: RepoScan, gem: string): string | undefined {
  const re = new RegExp(`['"]${gem}['"]`);
  return scan.files.find(
    (f) => (f === 'Gemfile' || /^[^/]+\.gemspec$/.test(f)) && re.test(scan.read(f) ?? ''),
  );
}

/** ruby's -I options for lib/ and test/ where they exist (as Rake::TestTask sets them). */
function loadPath(scan: RepoScan): string {
  return ['lib', 'test']
    .filter((d) => scan.files.some((f) => f.startsWith(`${d}/`)))
    .map((d) => ` -I${d}`)
    .join('');
}

function rubyMissing(): string | undefined {
  return toolAvailable('ruby')
    ? undefined
    : 'ruby is not installed where the sandbox can see it (apt-get install ruby)';
}

function minitestCandidate(scan: RepoScan): Candidate | null {
  const files = scan
    .match(MINITEST_FILE)
    .filter((f) => !RUBY_EXCLUDED.test(f) && !HELPER.test(f))
    .filter((f) => DEFINES_TESTS.test(scan.read(f) ?? ''));
  const usesMinitest = (f: string) => /minitest|Minitest::/.test(scan.read(f) ?? '');
  const requiresMinitest = [
    ...files.filter(usesMinitest),
    ...scan.match(MINITEST_HELPER).filter(usesMinitest),
  ];
  const gemfile = declares(scan, 'minitest');
  const rakefile = /Rake::TestTask/.test(scan.read('Rakefile') ?? '');
  if (!requiresMinitest.length && !gemfile && !rakefile) return null;
  const reasons: string[] = [];
  if (gemfile) reasons.push(`${gemfile} names minitest`);
  if (rakefile) reasons.push('Rakefile defines a Rake::TestTask');
  if (requiresMinitest.length)
    reasons.push(`${requiresMinitest.length} test file(s) or helper(s) use minitest`);
  const includes = loadPath(scan);
  // minitest/autorun reads its options from ARGV when the file is done loading.
  const each = `ruby${includes} -e 'require File.expand_path(ARGV.shift)' "$f" -v 2>&1`;
  return {
    framework: 'minitest',
    ecosystem: 'ruby',
    reason: reasons.join('; '),
    command: `ruby${includes} <file> -v (each minitest file on its own)`,
    ...listedFiles(
      (fs) =>
        `${header('minitest', 'runs each minitest file on its own, verbosely')}\nrm -rf "$tmp" 2>/dev/null\n${perFile(fs, each)}`,
      files,
    ),
    testParser: MINITEST_PARSER,
    testFiles: withHelpers(scan, files),
    filesFromIds: (ids) => idFiles(ids, / > /, scan),
    notes: [
      `each test file runs on its own with ruby${includes} and minitest -v; ids are "<file> > Class#test_name"`,
    ],
    notApplicable: rubyMissing() ?? (files.length ? undefined : 'no minitest test files found'),
  };
}

const DEFINES_TEST_UNIT = /Test::Unit::TestCase|require\s*\(?\s*["']test(\/unit|-unit)["']/;

/**
 * test-unit (Ruby's bundled xUnit gem): each file on its own, --verbose=verbose. Evident when a
 * Ruby file requires it or subclasses Test::Unit::TestCase (often in a helper the test files
 * share, as `class TestCase < Test::Unit::TestCase`); its files are the test files that define
 * tests and are not minitest's.
 */
function testUnitCandidate(scan: RepoScan): Candidate | null {
  const mentions = scan
    .match(/\.rb$/)
    .filter((f) => !RUBY_EXCLUDED.test(f) && DEFINES_TEST_UNIT.test(scan.read(f) ?? ''));
  if (!mentions.length) return null;
  const files = scan.match(MINITEST_FILE).filter((f) => {
    if (RUBY_EXCLUDED.test(f) || HELPER.test(f)) return false;
    const text = scan.read(f) ?? '';
    return /\bdef test_|^\s*test\s*\(?\s*["']/m.test(text) && !/Minitest/.test(text);
  });
  if (!files.length) return null;
  const includes = loadPath(scan);
  const each = `ruby${includes} -e 'require File.expand_path(ARGV.shift)' "$f" --verbose=verbose 2>&1`;
  return {
    framework: 'test-unit',
    ecosystem: 'ruby',
    reason: `${mentions.slice(0, 2).join(', ')}${mentions.length > 2 ? ', ...' : ''} use${mentions.length === 1 ? 's' : ''} test-unit; ${files.length} test file(s)`,
    command: `ruby${includes} <file> --verbose=verbose (each test-unit file on its own)`,
    ...listedFiles(
      (fs) =>
        `${header('test-unit', 'runs each test-unit file on its own, verbosely')}\nrm -rf "$tmp" 2>/dev/null\n${perFile(fs, each)}`,
      files,
    ),
    testParser: TEST_UNIT_PARSER,
    testFiles: withHelpers(scan, files),
    filesFromIds: (ids) => idFiles(ids, / > /, scan),
    notes: [
      `each test file runs on its own with ruby${includes} and test-unit --verbose=verbose; ids are "<file> > TestCase > [sub_test_case >] test"`,
    ],
    notApplicable: rubyMissing(),
  };
}

function rspecCandidate(scan: RepoScan): Candidate | null {
  const files = scan.match(SPEC_FILE).filter((f) => !RUBY_EXCLUDED.test(f));
  const gemfile = declares(scan, 'rspec') ?? declares(scan, 'rspec-core');
  if (!files.length && !gemfile && !scan.has('.rspec')) return null;
  const reasons: string[] = [];
  if (scan.has('.rspec')) reasons.push('.rspec present');
  if (gemfile) reasons.push(`${gemfile} names rspec`);
  if (files.length) reasons.push(`${files.length} *_spec.rb file(s)`);
  const helpers = uniqueSorted(scan.match(/(^|\/)spec\/(spec_helper|rails_helper)\.rb$/));
  // The JSON report goes to a file and is printed after the run, on a line of its own.
  const each =
    'rspec --format json --out "$tmp/rspec.json" --format progress "$f" 2>&1; c=$?; echo; cat "$tmp/rspec.json" 2>/dev/null; echo; rm -f "$tmp/rspec.json"; (exit $c)';
  return {
    framework: 'rspec',
    ecosystem: 'ruby',
    reason: reasons.join('; '),
    command: 'rspec --format json <file> (each spec file on its own)',
    ...listedFiles(
      (fs) =>
        `${header('rspec', "runs rspec on each spec file (the project's .rspec options apply) with a JSON report")}\n${perFile(fs, each)}`,
      files,
    ),
    testParser: RSPEC_PARSER,
    testFiles: uniqueSorted([...files, ...helpers]),
    filesFromIds: (ids) => idFiles(ids, / > /, scan),
    notes: [
      'rspec runs each spec file on its own with its JSON formatter (a file that fails to load stops only itself); ids are "<spec file> > <full description>"',
    ],
    notApplicable:
      rubyMissing() ??
      (toolAvailable('rspec')
        ? files.length
          ? undefined
          : 'no *_spec.rb files found'
        : 'rspec is not installed where the sandbox can see it (apt-get install ruby-rspec)'),
  };
}

/**
 * minitest and test-unit (the one with more test files first), then RSpec; RSpec first when the
 * project has a .rspec file.
 */
export function rubyCandidates(scan: RepoScan): Candidate[] {
  const spec = rspecCandidate(scan);
  const xunit = [minitestCandidate(scan), testUnitCandidate(scan)]
    .filter((c): c is Candidate => c !== null)
    .sort((a, b) => b.testFiles.length - a.testFiles.length);
  if (!spec) return xunit;
  return scan.has('.rspec') ? [spec, ...xunit] : [...xunit, spec];
}
