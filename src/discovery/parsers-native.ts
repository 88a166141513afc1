/**
 * test_parser.py programs for C and C++ builds: CTest (ctest -V and its JUnit report) and
 * `make check` / `make test` (automake's .trs/.log files, its PASS:/FAIL: lines, or the exit
 * code). Conventions as in parsers.ts.
 *
 * Test programs often print one line per case; where they do, the case ids replace the
 * program's own id ("<program> > <case>"):
 *   Unity       file.c:12:test_name:PASS | :FAIL: message | :IGNORE
 *   cmocka,     [       OK ] name | [  FAILED  ] name | [  SKIPPED ] name
 *   GoogleTest  (the same brackets, with " (N ms)" and ", where GetParam() = ..." left out)
 *   Check       file.c:12:P:tcase:test_fn:0: Passed (F failed, E error; a loop test's cases
 *               are "test_fn[i]"). Check prints passing cases only when verbose (the scripts
 *               set CK_VERBOSITY=verbose, which suites run with CK_ENV honour); a program that
 *               printed only failures keeps its own id, so ids do not depend on the outcome.
 *   TAP         ok 1 - description | not ok 2 - description (# SKIP / # TODO: skipped), when
 *               the output also has a plan line "1..N" or "TAP version N"
 * A program that failed although none of its cases did (a crash after the last case, a
 * non-zero exit) adds "<program> > (whole test)": failed.
 *
 * The scripts print "### ssr-build-failed <nonce>" when the project did not configure or
 * build: then no test ran, and the parser reports none (every test is missing, i.e. failing).
 */
import { COMMON, MAIN, py } from './parsers.js';

/** Per-case lines of a test program's output, and how one program's results are reported. */
const CASES = py`
CK_LINE = re.compile(r"^(\S.*?):(\d+):([PFE]):([^:]*):([^:\s]+):(-?\d+):\s?(.*)$")
UNITY_LINE = re.compile(r"^(\S.*?):(\d+):([^:]+?):(PASS|FAIL|IGNORE)(?::.*)?$")
XUNIT_LINE = re.compile(r"^\[\s*(OK|FAILED|SKIPPED|ERROR)\s*\] (.+?)\s*$")
XUNIT_NOT_A_CASE = re.compile(r"^(?:\d+ tests?\b|\d+ test\(s\)|---)")
TAP_PLAN = re.compile(r"^(?:1\.\.\d+|TAP version \d+)")
TAP_POINT = re.compile(r"^(not ok|ok)\b(?:\s+\d+)?(?:\s*-)?\s*(.*?)\s*$")
TAP_DIRECTIVE = re.compile(r"\s*(?<!\\)#\s*(SKIP|TODO)\b.*$", re.I)
CK_STATUS = {"P": "passed", "F": "failed", "E": "failed"}
UNITY_STATUS = {"PASS": "passed", "FAIL": "failed", "IGNORE": "skipped"}
XUNIT_STATUS = {"OK": "passed", "FAILED": "failed", "ERROR": "failed", "SKIPPED": "skipped"}
WHOLE_TEST = "(whole test)"
BUILD_FAILED = "### ssr-build-failed "


def build_failed(log):
    """Whether the script said the project did not configure or build (this run's nonce)."""
    for line in log.lines:
        if line.startswith(BUILD_FAILED):
            parts = line.split(" ")
            if len(parts) >= 3 and parts[2] == log.nonce:
                return True
    return False


def case_results(lines):
    """{case: status} from the per-case lines a test program printed; a case reported twice
    (cmocka and GoogleTest list failures again at the end) keeps its worst status. Empty when
    the lines do not name every case."""
    found = {}
    check = []
    tap = []
    tap_plan = False

    def put(name, status):
        old = found.get(name)
        if old is None or RANK[status] > RANK[old]:
            found[name] = status

    for raw in lines:
        line = raw.rstrip()
        m = CK_LINE.match(line)
        if m:
            check.append((m.group(4), m.group(5), int(m.group(6)), CK_STATUS[m.group(3)]))
            continue
        m = UNITY_LINE.match(line)
        if m:
            put(m.group(3).strip(), UNITY_STATUS[m.group(4)])
            continue
        m = XUNIT_LINE.match(line)
        if m:
            name = m.group(2)
            if XUNIT_NOT_A_CASE.match(name):
                continue
            name = re.sub(r"\s+\(\d+ ms\)$", "", name)
            name = re.sub(r", where (?:GetParam|TypeParam)\(?\)? = .*$", "", name)
            put(name.strip(), XUNIT_STATUS[m.group(1)])
            continue
        if TAP_PLAN.match(line):
            tap_plan = True
            continue
        m = TAP_POINT.match(line)
        if m:
            desc = m.group(2)
            d = TAP_DIRECTIVE.search(desc)
            if d:
                status = "skipped"
                desc = desc[:d.start()].rstrip()
            else:
                status = "passed" if m.group(1) == "ok" else "failed"
            tap.append((desc or "#%d" % (len(tap) + 1), status))
    if check:
        if not any(c[3] == "passed" for c in check):
            # Check at its normal verbosity lists failures only: the passing cases are unknown.
            check = []
        iterations = {}
        for tcase, fn, i, _ in check:
            iterations.setdefault((tcase, fn), set()).add(i)
        for tcase, fn, i, status in check:
            name = fn if len(iterations[(tcase, fn)]) == 1 else "%s[%d]" % (fn, i)
            put("%s > %s" % (tcase, name) if tcase else name, status)
    if tap_plan:
        seen = {}
        for desc, status in tap:
            seen[desc] = seen.get(desc, 0) + 1
            put(desc if seen[desc] == 1 else "%s (%d)" % (desc, seen[desc]), status)
    return found


def report_program(results, name, status, lines):
    """One test program: its cases as "<name> > <case>" when it printed them, else itself."""
    cases = case_results(lines)
    if len(cases) == 1 and name.endswith(list(cases)[0]):
        # One case per program, named like it (gtest_discover_tests): the program is the case.
        worst = list(cases.values())[0]
        cases = {}
        if RANK[worst] > RANK[status]:
            status = worst
    if not cases:
        results.add(name, status)
        return
    for case in sorted(cases):
        results.add("%s > %s" % (name, case), cases[case])
    if status == "failed" and "failed" not in cases.values():
        results.add("%s > %s" % (name, WHOLE_TEST), "failed")
`;

/**
 * ctest -V (every line a test prints comes as "<test number>: <line>") with the JUnit report of
 * ctest >= 3.21 between report markers. Ids are the CTest test names (or "<test> > <case>").
 * Statuses come from the JUnit report where there is one, else from the result lines
 * ("1/3 Test #1: name ....   Passed  0.01 sec"). A test skipped by SKIP_RETURN_CODE or
 * SKIP_REGULAR_EXPRESSION, or disabled, is skipped; one that could not run (its program was
 * not built) failed.
 */
export const CTEST_PARSER = `${COMMON}${CASES}${py`
import xml.etree.ElementTree as ET

START = re.compile(r"^\s*Start\s+(\d+): (.*?)\s*$")
OUTPUT = re.compile(r"^(\d+): ?(.*)$")
RESULT = re.compile(r"^\s*\d+/\d+ Test\s+#(\d+): (.*?)\s+[\d.]+ sec\s*$")


def line_status(text, name):
    """The status word of a result line's "<name> ....   <status>" part."""
    if name and text.startswith(name):
        text = text[len(name):]
    else:
        text = re.sub(r"^.*? \.+", "", text)
    text = text.lstrip(" .*")
    if text.startswith("Passed"):
        return "passed"
    if text.startswith("Skipped") or "(Disabled)" in text or text.startswith("Disabled"):
        return "skipped"
    return "failed"


def junit_statuses(reports):
    out = {}
    for _name, body in reports:
        body = body.strip()
        if not body.startswith("<"):
            continue
        try:
            tree = ET.fromstring(body.encode("utf-8"))
        except ET.ParseError:
            continue
        for case in tree.iter("testcase"):
            name = case.get("name") or ""
            state = case.get("status") or ""
            kinds = dict((child.tag, child) for child in case)
            if state == "disabled":
                status = "skipped"
            elif state == "notrun" or "skipped" in kinds:
                why = (kinds["skipped"].get("message") or "") if "skipped" in kinds else ""
                status = "skipped" if why.startswith("SKIP_") else "failed"
            elif state == "fail" or "failure" in kinds or "error" in kinds:
                status = "failed"
            else:
                status = "passed"
            out[name] = status
    return out


def main():
    log = Log()
    results = Results()
    if build_failed(log):
        results.emit()
        return
    names = {}
    order = []
    outputs = {}
    statuses = {}
    for line in log.plain_lines():
        m = START.match(line)
        if m:
            num = int(m.group(1))
            if num not in names:
                names[num] = m.group(2)
                order.append(num)
                outputs[num] = []
            continue
        m = OUTPUT.match(line)
        if m and int(m.group(1)) in names:
            outputs[int(m.group(1))].append(m.group(2))
            continue
        m = RESULT.match(line)
        if m:
            num = int(m.group(1))
            statuses[num] = line_status(m.group(2), names.get(num))
    junit = junit_statuses(log.reports())
    for num in order:
        name = names[num]
        status = junit.get(name) or statuses.get(num) or "failed"
        report_program(results, name, status, outputs[num])
    seen = set(names.values())
    for name in sorted(junit):
        if name not in seen:
            results.add(name, junit[name])
    results.emit()
`}${MAIN}`;

/**
 * make check / make test: the script prints the make output as one "make <target>" section,
 * then automake's per-test .trs and .log files (those this run wrote) as reports. Ids:
 *   - automake's parallel harness: the test's path without .trs ("tests/test_calc"), status
 *     from ":global-test-result:" (else the worst ":test-result:"; XFAIL is skipped, XPASS and
 *     ERROR failed), or "<test> > <case>" from its .log;
 *   - no .trs: "PASS: name" / "FAIL: name" lines (automake's older serial harness and scripts
 *     that print the same), else per-case lines of the whole output ("make check > <case>"),
 *     else the target itself ("make check"), passed when make exited 0.
 */
export const MAKE_PARSER = `${COMMON}${CASES}${py`
AUTOMAKE_LINE = re.compile(r"^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR): (\S.*?)\s*$")
TRS_RESULT = re.compile(r"^:(global-)?test-result:\s*(\S+)", re.M)
AUTOMAKE_STATUS = {
    "PASS": "passed",
    "FAIL": "failed",
    "XFAIL": "skipped",
    "XPASS": "failed",
    "SKIP": "skipped",
    "ERROR": "failed",
}


def trs_status(body):
    results = TRS_RESULT.findall(body)
    overall = [AUTOMAKE_STATUS.get(word, "failed") for glob, word in results if glob]
    each = [AUTOMAKE_STATUS.get(word, "failed") for glob, word in results if not glob]
    pool = overall or each or ["failed"]
    return max(pool, key=lambda s: RANK[s])


def main():
    log = Log()
    results = Results()
    if build_failed(log):
        results.emit()
        return
    reports = log.reports()
    bodies = dict(reports)
    trs = [name for name, _ in reports if name.endswith(".trs")]
    for name in trs:
        test = name[: -len(".trs")]
        lines = bodies.get(test + ".log", "").split("\n")
        report_program(results, test, trs_status(bodies[name]), lines)
    if trs:
        results.emit()
        return
    for target, lines, code in log.file_sections():
        found = False
        for line in lines:
            m = AUTOMAKE_LINE.match(line.strip())
            if m:
                found = True
                results.merge(m.group(2), AUTOMAKE_STATUS[m.group(1)])
        if not found:
            report_program(results, target, "passed" if code == 0 else "failed", lines)
    results.emit()
`}${MAIN}`;
