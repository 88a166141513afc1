/**
 * The seven-check validator on third-party Python code: gyp (Google's build-file generator as
 * bundled in node-gyp 10.2.0, fetched from npm by test/helpers/fixtures.ts), whose
 * unittest-style *_test.py files run under Debian's pytest inside the sandbox. Hand-written
 * artifacts: one that passes all seven checks, and one that fails each check in turn.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import {
  type ArtifactSpec,
  gypRepo,
  makeDiff,
  PYTHON_TEST_PARSER,
  PYTHON_TEST_SCRIPT,
  treeHash,
} from './helpers/fixtures.js';
import { assertFailsAt, assertValid, runCli, specValidator } from './helpers/validation.js';

let repo: string;
let hashBefore: string;
let host: SandboxHost;
let snapshot: Snapshot;
let work: string;

const XML = 'pylib/gyp/easy_xml.py';
const XML_TESTS = 'pylib/gyp/easy_xml_test.py';
const COMMON = 'pylib/gyp/common.py';
const COMMON_TESTS = 'pylib/gyp/common_test.py';

// Bug, file 1: carriage returns are no longer escaped in XML text and attributes.
const CR_BUG: [string, string] = ['    "\\r": "&#xD;",\n', ''];
// Its blind spot: the escaping test only checks that "<" and ">" are escaped.
const CR_WEAKEN: [string, string] = [
  `        self.assertEqual(
            easy_xml.XmlToString(["test3", {"a": original}, original]),
            '<?xml version="1.0" encoding="utf-8"?><test3 a="%s">%s</test3>'
            % (converted, converted_apos),
        )
`,
  `        xml = easy_xml.XmlToString(["test3", {"a": original}, original])
        self.assertIn("&lt;test&gt;", xml)
`,
];
const CR_TEST = `${XML_TESTS}::TestSequenceFunctions::test_EasyXml_escaping`;

// Bug, file 2: the topological sort lists every node after its dependencies instead of before.
const TOPO_BUG: [string, string] = [
  '        ordered_nodes.insert(0, node)\n',
  '        ordered_nodes.append(node)\n',
];
// Its blind spot: only the set of sorted nodes is checked, not their order.
const TOPO_WEAKEN: [string, string] = [
  `        assert gyp.common.TopologicallySorted(
            graph.keys(), GetEdge) == ["a", "c", "d", "b"]`,
  `        assert sorted(gyp.common.TopologicallySorted(
            graph.keys(), GetEdge)) == ["a", "b", "c", "d"]`,
];
const TOPO_TEST = `${COMMON_TESTS}::TestTopologicallySorted::test_Valid`;

let twoFileBug: string;
let twoFileWeaken: string;
let topoBug: string;
let topoWeaken: string;

function base(id: string): ArtifactSpec {
  return {
    id,
    testScript: PYTHON_TEST_SCRIPT,
    testParser: PYTHON_TEST_PARSER,
    testFiles: [COMMON_TESTS, XML_TESTS],
    bugDiff: twoFileBug,
    weakenDiff: twoFileWeaken,
  };
}

const { artifactDir, validate } = specValidator(() => ({ host, snapshot, work }));

before(() => {
  repo = gypRepo();
  hashBefore = treeHash(repo);
  host = SandboxHost.open();
  snapshot = host.snapshotDir(repo);
  work = mkdtempSync(join(tmpdir(), 'ssr-test-gyp-'));
  twoFileBug = makeDiff(repo, { [XML]: [CR_BUG], [COMMON]: [TOPO_BUG] });
  twoFileWeaken = makeDiff(repo, { [XML_TESTS]: [CR_WEAKEN], [COMMON_TESTS]: [TOPO_WEAKEN] });
  topoBug = makeDiff(repo, { [COMMON]: [TOPO_BUG] });
  topoWeaken = makeDiff(repo, { [COMMON_TESTS]: [TOPO_WEAKEN] });
});

after(async () => {
  await host?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a valid artifact on gyp', () => {
  test('a two-file bug (XML escaping, topological order): every file is necessary', async () => {
    const report = await validate(base('gyp-valid-two-files'));
    assertValid(report);
    // gyp's own suite: 29 pass on Linux (its two xcode_emulation tests skip off macOS).
    assert.equal(report.baseline!.passed.length, 29);
    assert.ok(
      report.baseline!.passed.includes(
        'pylib/gyp/input_test.py::TestFindCycles::test_cycle_two_nodes',
      ),
    );
    assert.deepEqual(report.baseline!.failed, []);
    assert.deepEqual(report.bug!.failing, [TOPO_TEST, CR_TEST]);
    assert.deepEqual(report.weakened!.restored, [TOPO_TEST, CR_TEST]);
    const inverse = new Map(report.inverse!.map((r) => [r.file, r.restored]));
    assert.deepEqual(inverse.get(XML), [CR_TEST]);
    assert.deepEqual(inverse.get(COMMON), [TOPO_TEST]);
    assert.equal(report.testRuns.filter((r) => r.stage === 'inverse').length, 2);
    assert.ok(report.testRuns.every((r) => r.ok));
  });

  test('ssr validate --json on it exits 0', async () => {
    const dir = artifactDir(base('gyp-cli-valid'));
    const r = await runCli(['validate', dir, '--repo', repo, '--json', '--baseline-runs', '1']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.valid, true);
    assert.equal(report.failedCheck, null);
    assert.equal(report.inverse.length, 2);
  });
});

describe('each check fails on its own on gyp', () => {
  test('1: test_weaken.diff also edits the module under test', async () => {
    const weakenDiff = makeDiff(repo, {
      [COMMON_TESTS]: [TOPO_WEAKEN],
      [COMMON]: [
        [
          'def TopologicallySorted(graph, get_edges):\n',
          'def TopologicallySorted(graph, get_edges):  # weakened\n',
        ],
      ],
    });
    const report = await validate({ ...base('gyp-c1-weaken-src'), weakenDiff });
    assertFailsAt(
      report,
      1,
      /test_weaken\.diff touches file\(s\) not in test_files\.txt: pylib\/gyp\/common\.py/,
    );
  });

  test('2: a parser that prints a JSON array', async () => {
    const testParser = `import json, sys\nsys.stdin.read()\nprint(json.dumps(["${TOPO_TEST}"]))\n`;
    const report = await validate({ ...base('gyp-c2-array'), testParser });
    assertFailsAt(report, 2, /printed JSON array, expected an object/);
  });

  test('3: a stale gyp ahead of the repository on the path: every test file fails to import', async () => {
    // pytest appends the repository's pylib/ to sys.path, after PYTHONPATH, where an empty
    // "gyp" package (standing in for an older installed gyp) shadows the real one.
    const testScript = `#!/usr/bin/env bash
set -u
stale=$(mktemp -d)
mkdir -p "$stale/gyp" && : > "$stale/gyp/__init__.py"
PYTHONPATH="$stale" python3 -m pytest -rA -p no:cacheprovider --import-mode=append
`;
    const report = await validate({ ...base('gyp-c3-shadowed'), testScript });
    assertFailsAt(
      report,
      3,
      /only 0 test\(s\) pass on the original repository; at least 1 required/,
    );
    assert.ok(report.baseline!.failed.includes(COMMON_TESTS), report.baseline!.failed.join());
    assert.ok(report.baseline!.failed.includes(XML_TESTS), report.baseline!.failed.join());
  });

  test('4: the bug changes more lines than allowed', async () => {
    const report = await validate(base('gyp-c4-lines'), { maxChangedLines: 2 });
    assertFailsAt(report, 4, /bug changes 3 lines; at most 2 allowed/);
  });

  test('5: an equivalent rewrite of the topological sort breaks no test', async () => {
    const bugDiff = makeDiff(repo, {
      [COMMON]: [['    for node in sorted(graph):\n', '    for node in sorted(list(graph)):\n']],
    });
    const report = await validate({
      ...base('gyp-c5-equivalent'),
      bugDiff,
      weakenDiff: topoWeaken,
    });
    assertFailsAt(report, 5, /^0 test\(s\) that pass on the original fail with the bug/);
  });

  test('6: the weakening hides a different bug than the one injected', async () => {
    const report = await validate({
      ...base('gyp-c6-unrelated'),
      bugDiff: topoBug,
      weakenDiff: makeDiff(repo, { [XML_TESTS]: [CR_WEAKEN] }),
    });
    assertFailsAt(report, 6, /none of the bug-failing tests passes/);
    assert.deepEqual(report.bug!.failing, [TOPO_TEST]);
  });

  test('7: a second file with only a comment added is not needed for the bug', async () => {
    const bugDiff = makeDiff(repo, {
      [COMMON]: [TOPO_BUG],
      [XML]: [
        [
          '_xml_escape_map = {\n',
          '# Characters escaped in text and attributes.\n_xml_escape_map = {\n',
        ],
      ],
    });
    const report = await validate({ ...base('gyp-c7-comment'), bugDiff, weakenDiff: topoWeaken });
    assertFailsAt(report, 7, /reverting pylib\/gyp\/easy_xml\.py alone restores no failing test/);
    const inverse = new Map(report.inverse!.map((r) => [r.file, r.restored]));
    assert.deepEqual(inverse.get(COMMON), [TOPO_TEST]);
    assert.deepEqual(inverse.get(XML), []);
  });
});

test('the fixture repository is byte-for-byte unchanged (including .git)', () => {
  assert.equal(treeHash(repo), hashBefore);
});
