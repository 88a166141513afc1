/**
 * test_parser.py programs for Ruby: minitest's verbose lines (one test file per section) and
 * RSpec's JSON report. Conventions as in parsers.ts.
 */
import { COMMON, MAIN, py } from './parsers.js';

/**
 * minitest -v, one run per file: "Class#test_name = 0.00 s = ." (. passed, F failed, E error,
 * S skipped). Ids are "<file> > Class#test_name": the timing is left out, so ids are stable.
 */
export const MINITEST_PARSER = `${COMMON}${py`
VERBOSE = re.compile(r"^(\S+#\S+) = \d+(?:\.\d+)? s = ([.FES])\s*$")
STATUS = {".": "passed", "F": "failed", "E": "failed", "S": "skipped"}


def main():
    results = Results()
    for name, lines, code in Log().file_sections():
        before = set(results.tests)
        for line in lines:
            m = VERBOSE.match(line.strip())
            if m:
                results.add("%s > %s" % (name, m.group(1)), STATUS[m.group(2)])
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;

/**
 * rspec --format json, one run per spec file (a spec file that fails to load makes rspec run no
 * example at all, so files run apart): each section holds the file's one-line JSON report.
 * Ids are "<spec file> > <full description>"; pending examples count as skipped; a file whose
 * run fails with no failing example (it did not load) is "<file> > (whole file)": failed.
 */
export const RSPEC_PARSER = `${COMMON}${py`
STATUS = {"passed": "passed", "failed": "failed", "pending": "skipped"}


def main():
    log = Log()
    results = Results()
    for name, lines, code in log.file_sections():
        before = set(results.tests)
        for line in lines:
            line = line.strip()
            if not line.startswith('{"version"'):
                continue
            try:
                data = json.loads(line)
            except ValueError:
                continue
            for e in data.get("examples") or []:
                path = log.relative(str(e.get("file_path") or "")) or name
                test_id = "%s > %s" % (path, str(e.get("full_description") or ""))
                results.add(test_id, STATUS.get(e.get("status"), "failed"))
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;

/**
 * test-unit --verbose=verbose, one run per file: suites are "Name: " lines, tests
 * "  name:<tabs><mark>" nested by indentation (. passed, F failed, E error, O omitted,
 * P pending, N notification). Ids are "<file> > Suite > [sub suite >] test"; the failure
 * blocks between "=====" rules are skipped.
 */
export const TEST_UNIT_PARSER = `${COMMON}${py`
TEST = re.compile(r"^( *)(.*?):\t+([.FEOPN])")
SUITE = re.compile(r"^( *)(\S.*?): ?$")
STATUS = {".": "passed", "F": "failed", "E": "failed", "O": "skipped", "P": "skipped", "N": "passed"}


def main():
    results = Results()
    for name, lines, code in Log().file_sections():
        before = set(results.tests)
        stack = []
        in_block = False
        for line in lines:
            if re.match(r"^={20,}\s*$", line):
                in_block = not in_block
                continue
            if in_block:
                continue
            m = TEST.match(line)
            if m:
                depth = len(m.group(1))
                names = [n for d, n in stack if d < depth]
                results.add(" > ".join([name] + names + [m.group(2).strip()]), STATUS[m.group(3)])
                continue
            m = SUITE.match(line)
            if m and not line.startswith("Loaded suite"):
                depth = len(m.group(1))
                stack = [(d, n) for d, n in stack if d < depth] + [(depth, m.group(2).strip())]
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;
