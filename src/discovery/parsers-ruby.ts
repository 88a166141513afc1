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
