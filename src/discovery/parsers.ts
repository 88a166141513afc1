/**
 * The test_parser.py programs discovery writes, one per framework, as TypeScript strings so they
 * ship in dist/ without copying files. Each reads the log of the matching test_script.sh on
 * stdin and prints one JSON object {"<test id>": "passed" | "failed" | "skipped"}.
 *
 * The scripts frame what they print with marker lines "### ssr-<kind> <nonce> [<value>]",
 * where the nonce is random per run (so what tests print cannot pass for a marker):
 *   ### ssr-root <nonce> <dir>           first line: the repo root as the tests saw it
 *   ### ssr-file <nonce> <path>          the output that follows is of this test file
 *   ### ssr-exit <nonce> <code>          exit status of the run just printed
 *   ### ssr-report-begin <nonce> <name>  a machine-readable report file follows, up to
 *   ### ssr-report-end <nonce>
 *
 * Ids carry the test file and the suite path where the framework has them
 * (`test/a.test.js > suite > case`, `tests/test_x.py::TestK::test_y[param]`). A second test with
 * the same id in one run gets a " (2)" suffix; one test reported twice (passed, then an error in
 * teardown) keeps the worst status. A test file whose run exits non-zero without any failing
 * test shows up as "<file> > (whole file)": failed.
 *
 * The Python avoids backticks and dollar-brace sequences so it can live in raw template literals.
 */

/** Python source, verbatim: String.raw, so backslashes reach Python unchanged. */
export const py = String.raw;

/** Helpers every parser starts with. */
export const COMMON = py`import json
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MARK = re.compile(r"^### ssr-(root|file|exit|report-begin|report-end) (\S+)(?: (.*))?$")
RANK = {"skipped": 0, "passed": 1, "failed": 2}
WHOLE_FILE = "(whole file)"


class Log(object):
    """The test log; marker lines count only with this run's nonce (from the first root line,
    printed before any test runs), so output of the tests cannot pass for a marker."""

    def __init__(self):
        text = sys.stdin.buffer.read().decode("utf-8", "replace")
        text = ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        self.lines = text.split("\n")
        self.nonce = None
        self.roots = []
        for line in self.lines:
            m = MARK.match(line)
            if m and m.group(1) == "root":
                if self.nonce is None:
                    self.nonce = m.group(2)
                if m.group(2) == self.nonce and m.group(3):
                    self.roots.append(m.group(3).strip())
        self.roots.append(os.getcwd())

    def marker(self, line):
        """(kind, value) for a marker line of this run, else None."""
        if not line.startswith("### ssr-"):
            return None
        m = MARK.match(line)
        if m and m.group(2) == self.nonce:
            return m.group(1), (m.group(3) or "").strip()
        return None

    def relative(self, path):
        """A path relative to the repo root (POSIX separators); other paths unchanged."""
        if not path:
            return path
        path = path.replace("\\", "/")
        for base in self.roots:
            base = base.rstrip("/") + "/"
            if path.startswith(base):
                return path[len(base):]
        if path.startswith("./"):
            return path[2:]
        return path

    def file_sections(self):
        """[(file, lines, exit_code)]: one ssr-file section per test file."""
        out = []
        current = None
        for line in self.lines:
            mark = self.marker(line)
            if mark and mark[0] == "file":
                current = [mark[1], [], None]
                out.append(current)
            elif mark and mark[0] == "exit":
                if current is not None:
                    current[2] = exit_code(mark[1])
            elif mark:
                continue
            elif current is not None:
                current[1].append(line)
        return out

    def reports(self):
        """[(name, body)] of the report files printed between begin and end markers."""
        out = []
        name = None
        body = []
        for line in self.lines:
            mark = self.marker(line)
            if mark and mark[0] == "report-begin":
                name = mark[1]
                body = []
            elif mark and mark[0] == "report-end":
                if name is not None:
                    out.append((name, "\n".join(body)))
                name = None
            elif name is not None:
                body.append(line)
        return out

    def plain_lines(self):
        """The log without this run's marker lines."""
        return [line for line in self.lines if not self.marker(line)]


def exit_code(value):
    try:
        return int((value or "").strip())
    except ValueError:
        return None


class Results(object):
    def __init__(self):
        self.tests = {}
        self.counts = {}

    def merge(self, test_id, status):
        """The same test reported again: the worst status wins (failed > passed > skipped)."""
        old = self.tests.get(test_id)
        if old is None or RANK[status] > RANK[old]:
            self.tests[test_id] = status

    def add(self, test_id, status):
        """A new test; another one with the same id in this run gets a suffix."""
        n = self.counts.get(test_id, 0) + 1
        self.counts[test_id] = n
        if n > 1:
            test_id = "%s (%d)" % (test_id, n)
        self.merge(test_id, status)
        return test_id

    def emit(self):
        json.dump(self.tests, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")


def whole_file_failure(results, name, before, code):
    """A file whose run exited non-zero although none of its tests failed."""
    if not code:
        return
    failed = [k for k, v in results.tests.items() if v == "failed" and k not in before]
    if not failed:
        results.merge("%s > %s" % (name, WHOLE_FILE), "failed")
`;

/**
 * TAP points and their directives, for every TAP parser: a description ends at its first
 * unescaped "#"; what follows is a directive (SKIP or TODO: the test is skipped) or a note such
 * as node-tap's "# time=21.526ms", which changes from run to run and so never enters an id.
 */
const TAP_POINTS = py`
TAP_LINE = re.compile(r"^(\s*)(not ok|ok)\b(?:\s+\d+)?(?:\s+-)?(?:\s+(.*))?$")
SUBTEST = re.compile(r"^(\s*)# Subtest: (.*)$")
TIMING = re.compile(r"\s+#\s*(?:time\s*=|\{).*$", re.I)


def unescape(name):
    return re.sub(r"\\([#\\])", r"\1", name)


def split_directive(desc):
    """(description, "SKIP" | "TODO" | None), the description without its directive."""
    i = 0
    while i < len(desc):
        c = desc[i]
        if c == "\\":
            i += 2
            continue
        if c == "#":
            m = re.match(r"\s*(skip|todo)", desc[i + 1:], re.I)
            return desc[:i].rstrip(), m.group(1).upper() if m else None
        i += 1
    return desc.rstrip(), None


def tap_status(ok_word, directive):
    if directive:
        return "skipped"
    return "passed" if ok_word == "ok" else "failed"
`;

/** TAP with nesting (node --test): "# Subtest: name", indented children, YAML blocks. */
const TAP_NESTED = py`


def parse_nested_tap(lines, prefix, results, strip_names=()):
    """Reports every test (a parent test too, as node does) and a suite only when it failed
    with no failing test inside (a hook or the suite body threw)."""
    stack = []  # [indent, name, children, bad]
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = SUBTEST.match(line)
        if m:
            indent = len(m.group(1))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append([indent, unescape(m.group(2).strip()), 0, False])
            continue
        m = TAP_LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        desc, directive = split_directive(m.group(3) or "")
        name = unescape(desc)
        yaml = []
        if i < len(lines) and lines[i].strip() == "---":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "...":
                yaml.append(lines[j])
                j += 1
            i = j + 1
        is_suite = any(re.match(r"^\s*type:\s*'?suite'?\s*$", y) for y in yaml)
        while stack and stack[-1][0] > indent:
            stack.pop()
        children = 0
        bad_inside = False
        if stack and stack[-1][0] == indent:
            entry = stack.pop()
            children = entry[2]
            bad_inside = entry[3]
            if not name:
                name = entry[1]
        path = [e[1] for e in stack if e[1] not in strip_names]
        status = tap_status(m.group(2), directive)
        if stack:
            stack[-1][2] += 1
            if status == "failed" or bad_inside:
                stack[-1][3] = True
        if name in strip_names and not path:
            if status == "failed" and not bad_inside:
                results.merge(" > ".join(prefix + [WHOLE_FILE]), "failed")
            continue
        test_id = " > ".join(prefix + path + [name or "#%d" % (children + 1)])
        if is_suite:
            if status == "failed" and not bad_inside:
                results.add(test_id, "failed")
            continue
        results.add(test_id, status)
`;

/** Flat TAP as tape prints it: "# test name" headers, then "ok N message" assertions. */
const TAP_FLAT = py`
ASSERT = re.compile(r"^(not ok|ok)\b(?:\s+\d+)?(.*)$")
SUMMARY = re.compile(r"^(tests|pass|fail|skip|todo|ok)(\s+\d+)?$")


def parse_flat_tap(lines, prefix, results):
    """Ids are "<prefix> > <test name>": a test fails if any of its assertions fails, is
    skipped if all were skipped, and passes otherwise (a test with no assertion left, e.g.
    after its checks were removed, ran without failing). Assertion numbers are not part of
    the id: removing one assertion must not rename the others."""
    test = None
    seen = {}
    status = {}
    order = []
    in_yaml = False

    def start(title):
        seen[title] = seen.get(title, 0) + 1
        name = title if seen[title] == 1 else "%s (%d)" % (title, seen[title])
        order.append(name)
        status[name] = []
        return name

    for line in lines:
        if in_yaml:
            if line.strip() == "...":
                in_yaml = False
            continue
        if line.strip() == "---" and line.startswith(" "):
            in_yaml = True
            continue
        if line.startswith("# "):
            title = TIMING.sub("", line[2:].strip())
            if SUMMARY.match(title):
                continue
            test = start(title)
            continue
        m = ASSERT.match(line)
        if not m:
            continue
        if test is None:
            test = start("(top level)")
        status[test].append(tap_status(m.group(1), split_directive(m.group(2))[1]))
    for name in order:
        marks = status[name]
        if "failed" in marks:
            outcome = "failed"
        elif marks and all(x == "skipped" for x in marks):
            outcome = "skipped"
        else:
            outcome = "passed"
        results.merge(" > ".join(prefix + [name]), outcome)
`;

export const MAIN = py`

if __name__ == "__main__":
    main()
`;

/** node --test --test-reporter=tap, one run per file. */
export const NODE_TEST_PARSER = `${COMMON}${TAP_POINTS}${TAP_NESTED}${py`

def main():
    log = Log()
    results = Results()
    for name, lines, code in log.file_sections():
        before = set(results.tests)
        strip = tuple([name] + [r.rstrip("/") + "/" + name for r in log.roots])
        parse_nested_tap(lines, [name], results, strip)
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;

/** tape: `node <file>` per file. */
export const TAPE_PARSER = `${COMMON}${TAP_POINTS}${TAP_FLAT}${py`

def main():
    results = Results()
    for name, lines, code in Log().file_sections():
        before = set(results.tests)
        parse_flat_tap(lines, [name], results)
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;

/**
 * TAP whose tests are announced by "# Subtest: <name>" (node-tap, node:test): a point that
 * closes a subtest is a test; a point without one is an assertion (t.equal, t.ok), which counts
 * toward the test it is in and is never an id of its own (assertion names repeat, and removing
 * one would renumber the rest); a point with a SKIP or TODO directive is a skipped test (tap
 * announces no subtest it did not run). Assertions outside any test count toward "<prefix> >
 * (top level)". With `relative` (a path normaliser), the outermost subtests are test files
 * (node-tap runs each file as one): their names become repo-relative paths, and a file that
 * failed without any failing test inside shows up as "<file> > (whole file)".
 */
const TAP_TREE = py`

def parse_tap_tests(lines, prefix, results, relative=None):
    stack = []  # [indent, name, bad_inside]
    top = {}  # id prefix -> statuses of assertions outside any test
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = SUBTEST.match(line)
        if m:
            indent = len(m.group(1))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append([indent, unescape(TIMING.sub("", m.group(2).strip())), False])
            continue
        m = TAP_LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        if i < len(lines) and lines[i].strip() == "---":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "...":
                j += 1
            i = j + 1
        desc, directive = split_directive(m.group(3) or "")
        status = tap_status(m.group(2), directive)
        while stack and stack[-1][0] > indent:
            stack.pop()
        if not stack or stack[-1][0] < indent:
            # an assertion of the innermost open test (or of the file itself)
            if stack and status == "failed":
                stack[-1][2] = True
            owner = [e[1] for e in stack]
            if relative is not None and owner:
                owner = [relative(owner[0])] + owner[1:]
            if directive and desc and (owner or relative is None):
                # a test skipped or todo before it ran: tap prints no "# Subtest:" for it
                results.add(" > ".join(prefix + owner + [unescape(desc)]), "skipped")
                continue
            if len(owner) == (0 if relative is None else 1):
                key = " > ".join(prefix + owner + ["(top level)"])
                top.setdefault(key, []).append(status)
            continue
        entry = stack.pop()
        name = unescape(desc) or entry[1]
        if stack and (status == "failed" or entry[2]):
            stack[-1][2] = True
        path = [e[1] for e in stack]
        if relative is not None:
            if not path:
                # a test file: a failure with no failing test inside fails it as a whole
                if status == "failed" and not entry[2]:
                    results.merge(" > ".join(prefix + [relative(entry[1]), WHOLE_FILE]), "failed")
                continue
            path = [relative(path[0])] + path[1:]
        results.add(" > ".join(prefix + path + [name]), status)
    for key, marks in top.items():
        if "failed" in marks:
            results.merge(key, "failed")
        elif all(x == "skipped" for x in marks):
            results.merge(key, "skipped")
        else:
            results.merge(key, "passed")
`;

/**
 * npm test with unknown tooling: any TAP in the log, with subtests ("# Subtest:", ids per
 * subtest) or flat (tape's "# name" headers, ids per header). Ids start with "npm test".
 */
export const GENERIC_TAP_PARSER = `${COMMON}${TAP_POINTS}${TAP_TREE}${TAP_FLAT}${py`

def main():
    lines = Log().plain_lines()
    results = Results()
    if any(SUBTEST.match(line) for line in lines):
        parse_tap_tests(lines, ["npm test"], results)
    else:
        parse_flat_tap(lines, ["npm test"], results)
    results.emit()
`}${MAIN}`;

/**
 * node-tap run once (`tap --reporter=tap`): each test file is an outermost subtest; ids are
 * "<file> > <subtest> > <nested subtest>", without tap's "# time=" notes.
 */
export const NODE_TAP_PARSER = `${COMMON}${TAP_POINTS}${TAP_TREE}${py`

def main():
    log = Log()
    results = Results()
    parse_tap_tests(log.plain_lines(), [], results, log.relative)
    results.emit()
`}${MAIN}`;

/**
 * ava --tap: one point per test, titled "<file part> › ... › <title>" as ava prints it (the
 * file's path from the test files' common folder, without "test"/"spec" and the extension).
 * ava does not escape "#" in titles, so only a trailing SKIP or TODO directive is cut off. A
 * run that failed without any failing test (a crash before the tests) is "(whole run)".
 */
export const AVA_PARSER = `${COMMON}${py`
POINT = re.compile(r"^(not ok|ok)\b(?:\s+\d+)?(?:\s+-)?(?:\s+(.*))?$")
AVA_DIRECTIVE = re.compile(r"\s+#\s+(SKIP|TODO)\b[^#]*$", re.I)


def main():
    results = Results()
    code = 0
    in_yaml = False
    log = Log()
    for line in log.lines:
        mark = log.marker(line)
        if mark:
            if mark[0] == "exit":
                code = exit_code(mark[1]) or 0
            continue
        if in_yaml:
            if line.strip() == "...":
                in_yaml = False
            continue
        if line.startswith(" ") and line.strip() == "---":
            in_yaml = True
            continue
        m = POINT.match(line)
        if not m:
            continue
        title = (m.group(2) or "").strip()
        d = AVA_DIRECTIVE.search(title)
        if d:
            title = title[:d.start()].rstrip()
            status = "skipped"
        else:
            status = "passed" if m.group(1) == "ok" else "failed"
        results.add(title or "(untitled)", status)
    if code and "failed" not in results.tests.values():
        results.merge("(whole run)", "failed")
    results.emit()
`}${MAIN}`;

/**
 * uvu, one file at a time: a preload records each test's suite, name and the mark uvu prints
 * for it (pass or fail) as JSON lines between report markers, so ids are "<file> > <test>" or
 * "<file> > <suite> > <test>". uvu itself prints names only for failures; where the preload
 * recorded nothing (an uvu without test names on its state), the "FAIL" lines name the failed
 * tests and the file's exit status stands for the rest as "<file> > (whole file)".
 */
export const UVU_PARSER = `${COMMON}${py`
FAIL_LINE = re.compile(r'^\s*FAIL\s+(?:(.*?)\s+)?"(.*)"\s*$')


def main():
    log = Log()
    results = Results()
    sections = []
    current = None
    report = None
    for line in log.lines:
        mark = log.marker(line)
        if mark:
            kind, value = mark
            if kind == "file":
                current = [value, [], [], None]
                sections.append(current)
            elif kind == "exit" and current is not None:
                current[3] = exit_code(value)
            elif kind == "report-begin":
                report = []
            elif kind == "report-end":
                if current is not None and report is not None:
                    current[2].extend(report)
                report = None
            continue
        if report is not None:
            report.append(line)
        elif current is not None:
            current[1].append(line)
    for name, lines, records, code in sections:
        before = set(results.tests)
        seen = False
        for line in records:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            status = event.get("status")
            if status not in RANK:
                continue
            seen = True
            path = [name]
            if event.get("suite"):
                path.append(str(event.get("suite")))
            path.append(str(event.get("test") or "(untitled)"))
            results.add(" > ".join(path), status)
        if not seen:
            for line in lines:
                m = FAIL_LINE.match(line)
                if m:
                    path = [name] + ([m.group(1).strip()] if m.group(1) else []) + [m.group(2)]
                    results.add(" > ".join(path), "failed")
            if code == 0:
                results.merge("%s > %s" % (name, WHOLE_FILE), "passed")
        whole_file_failure(results, name, before, code)
    results.emit()
`}${MAIN}`;

/**
 * jasmine with discovery's helper reporter: one JSON line per spec (file, suite path, status)
 * between report markers. Ids are "<file> > <suite> > <spec>" ("<suite> > <spec>" where
 * jasmine gives no file); pending and excluded specs are skipped. A suite whose afterAll failed
 * with no failing spec inside is failed under its own path, and errors outside any suite (or a
 * failed run with no failure recorded) are "(whole run)".
 */
export const JASMINE_PARSER = `${COMMON}${py`

def main():
    log = Log()
    results = Results()
    code = 0
    for line in log.lines:
        mark = log.marker(line)
        if mark and mark[0] == "exit":
            code = exit_code(mark[1]) or 0
    suites = []
    for _name, body in log.reports():
        for line in body.split("\n"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            status = event.get("status")
            if status not in RANK:
                continue
            path = log.relative(event.get("file") or "")
            titles = [str(t) for t in (event.get("titles") or [])]
            test_id = " > ".join(([path] if path else []) + titles)
            kind = event.get("kind")
            if kind == "spec":
                results.add(test_id, status)
            elif kind == "suite":
                suites.append(test_id)
            elif kind == "run":
                results.merge("(whole run)", "failed")
    for test_id in suites:
        inside = [k for k, v in results.tests.items() if v == "failed" and k.startswith(test_id + " > ")]
        if not inside:
            results.merge(test_id, "failed")
    if code and "failed" not in results.tests.values():
        results.merge("(whole run)", "failed")
    results.emit()
`}${MAIN}`;

/** jest --json and vitest --reporter=json: the same report format. */
export const JEST_JSON_PARSER = `${COMMON}${py`
STATUS = {
    "passed": "passed",
    "failed": "failed",
    "pending": "skipped",
    "skipped": "skipped",
    "todo": "skipped",
    "disabled": "skipped",
    "focused": "passed",
}


def main():
    log = Log()
    results = Results()
    for _name, body in log.reports():
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for suite in data.get("testResults") or []:
            path = log.relative(suite.get("name") or suite.get("testFilePath") or "")
            before = set(results.tests)
            for a in suite.get("assertionResults") or suite.get("testResults") or []:
                titles = [str(t) for t in (a.get("ancestorTitles") or [])]
                titles.append(str(a.get("title") or a.get("fullName") or ""))
                status = STATUS.get(a.get("status"), "failed")
                results.add(" > ".join([path] + titles), status)
            if suite.get("status") == "failed" or suite.get("testExecError"):
                whole_file_failure(results, path, before, 1)
    results.emit()
`}${MAIN}`;

/** mocha with discovery's reporter: one JSON line per test event, keyed per test object. */
export const MOCHA_PARSER = `${COMMON}${py`

def main():
    log = Log()
    results = Results()
    ids = {}
    for _name, body in log.reports():
        for line in body.split("\n"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            status = event.get("status")
            if status not in RANK:
                continue
            key = event.get("key")
            if key in ids:
                results.merge(ids[key], status)
                continue
            path = log.relative(event.get("file") or "")
            titles = [str(t) for t in (event.get("titles") or [])]
            ids[key] = results.add(" > ".join(([path] if path else []) + titles), status)
    results.emit()
`}${MAIN}`;

/**
 * pytest -v -rfEpsxX: the short summary is authoritative for PASSED/FAILED/ERROR (a collection
 * error shows as the file's path); the -v lines give the ids of skipped and xfailed tests, which
 * the summary lists by location only. XFAIL counts as skipped, XPASS as passed.
 */
export const PYTEST_PARSER = `${COMMON}${py`
# A node id has spaces only inside its [parameters], so output a test printed on the same line
# (pytest -s) cannot pass for part of the id.
VERBOSE = re.compile(
    r"^(\S+::[^\s\[]+(?:\[.*\])?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)(?: \(.*\))?\s*(?:\[\s*\d+%\])?\s*$"
)
SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (.+)$")
STATUS = {
    "PASSED": "passed",
    "XPASS": "passed",
    "FAILED": "failed",
    "ERROR": "failed",
    "SKIPPED": "skipped",
    "XFAIL": "skipped",
}


def summary_id(rest, known):
    """The node id at the start of "<id> - <message>": the longest known id that fits, else the
    text before the first " - "."""
    best = None
    for test_id in known:
        if (rest == test_id or rest.startswith(test_id + " - ")) and (
            best is None or len(test_id) > len(best)
        ):
            best = test_id
    if best is not None:
        return best
    return rest.split(" - ", 1)[0].strip()


def main():
    lines = Log().plain_lines()
    results = Results()
    in_summary = False
    summary = []
    for line in lines:
        if re.match(r"^=+ short test summary info =+$", line):
            in_summary = True
            continue
        if in_summary:
            if re.match(r"^=+ .* =+$", line):
                in_summary = False
                continue
            summary.append(line)
            continue
        m = VERBOSE.match(line)
        if m:
            results.merge(m.group(1).strip(), STATUS[m.group(2)])
    known = set(results.tests)
    for line in summary:
        m = SUMMARY_LINE.match(line)
        if m:
            results.merge(summary_id(m.group(2).strip(), known), STATUS[m.group(1)])
    results.emit()
`}${MAIN}`;

/**
 * go test -json: ids "<import path>/<TestName>[/<subtest>]". A package that failed without any
 * failing test (build error, TestMain, panic outside a test) shows up as its import path.
 */
export const GO_PARSER = `${COMMON}${py`
STATUS = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def main():
    results = Results()
    failed_packages = []
    for line in Log().plain_lines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        action = event.get("Action")
        if action not in STATUS:
            continue
        package = event.get("Package") or ""
        test = event.get("Test")
        if test:
            results.merge(package + "/" + test, STATUS[action])
        elif action == "fail":
            failed_packages.append(package)
    for package in failed_packages:
        inside = [k for k, v in results.tests.items() if v == "failed" and k.startswith(package + "/")]
        if not inside:
            results.merge(package, "failed")
    results.emit()
`}${MAIN}`;

/**
 * cargo test (stable text output): "Running <target> (...)" and "Doc-tests <crate>" start each
 * test binary's output; "test <path> ... ok|FAILED|ignored" lines follow. Ids are
 * "<target>::<test path>" (e.g. "src/lib.rs::tests::adds", "tests/api.rs::round_trip");
 * doc-tests are "<crate> (doc)::<file> - <item>" without the line number, which moves with
 * every edit above it.
 */
export const CARGO_PARSER = `${COMMON}${py`
RUNNING = re.compile(r"^\s*Running (.+?)\s*$")
DOCTESTS = re.compile(r"^\s*Doc-tests (\S+)\s*$")
TEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|failed|ignored.*)$")


def target_name(text):
    m = re.match(r"^(?:unittests )?(.*?)\s*\((.*)\)$", text)
    if m and m.group(1):
        return m.group(1)
    path = m.group(2) if m else text
    base = path.split("/")[-1]
    return re.sub(r"-[0-9a-f]{8,}$", "", base)


def main():
    log = Log()
    results = Results()
    binary = "(unknown)"
    doc = False
    used = {}
    for line in log.plain_lines():
        m = RUNNING.match(line)
        if m:
            binary = target_name(m.group(1))
            used[binary] = used.get(binary, 0) + 1
            if used[binary] > 1:
                binary = "%s (%d)" % (binary, used[binary])
            doc = False
            continue
        m = DOCTESTS.match(line)
        if m:
            binary = m.group(1) + " (doc)"
            doc = True
            continue
        m = TEST.match(line)
        if not m:
            continue
        name = m.group(1)
        if doc:
            name = re.sub(r"\s*\(line \d+\)", "", log.relative(name))
        word = m.group(2)
        status = "passed" if word == "ok" else "skipped" if word.startswith("ignored") else "failed"
        if doc:
            results.add(binary + "::" + name, status)
        else:
            results.merge(binary + "::" + name, status)
    results.emit()
`}${MAIN}`;

/**
 * Maven Surefire/Failsafe JUnit XML reports (TEST-*.xml), printed between report markers.
 * Ids are "<classname>#<method>"; <failure> or <error> is failed, <skipped> skipped; a test
 * that only has <flakyFailure>/<flakyError> (passed on a rerun) counts as passed.
 */
export const SUREFIRE_PARSER = `${COMMON}${py`
import xml.etree.ElementTree as ET


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    results = Results()
    for name, body in Log().reports():
        body = body.strip()
        if not body:
            continue
        try:
            tree = ET.fromstring(body.encode("utf-8"))
        except ET.ParseError:
            results.merge("%s > %s" % (name, WHOLE_FILE), "failed")
            continue
        for case in tree.iter():
            if local(case.tag) != "testcase":
                continue
            cls = case.get("classname") or case.get("class") or ""
            method = case.get("name") or ""
            test_id = cls + "#" + method if cls else method
            kinds = set(local(child.tag) for child in case)
            if "failure" in kinds or "error" in kinds:
                status = "failed"
            elif "skipped" in kinds:
                status = "skipped"
            else:
                status = "passed"
            results.add(test_id, status)
    results.emit()
`}${MAIN}`;
