/**
 * `ssr inject` end to end in the languages beside JavaScript and Python, each on a repository
 * with its own runner: Ruby (minitest), C (CMake + CTest), Java (Maven + JUnit 5, offline) and
 * Go (Debian's kr/text, go test). Each must yield a valid procedural bug that `ssr validate`,
 * run on its own through the CLI, passes with all seven checks, and leave the repository as it
 * was. (Rust, with its inline test modules: test/inject-inline-tests.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { injectBugs } from '../src/inject/pipeline.js';
import { treeHash } from './helpers/fixtures.js';
import {
  cStrkitRepo,
  goKrTextRepo,
  javaCalcRepo,
  rubyTextkitRepo,
} from './helpers/language-repos.js';
import { runCli } from './helpers/validation.js';

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const M2 = join(homedir(), '.m2/repository/org/apache/maven/plugins/maven-surefire-plugin/3.2.5');

const LANGUAGES: {
  name: string;
  framework: string;
  repo: () => string;
  skip: string | false;
  /** Where the bug must be, and the oracle file the weakening edits. */
  source: RegExp;
  oracle: RegExp;
}[] = [
  {
    name: 'Ruby',
    framework: 'minitest',
    repo: rubyTextkitRepo,
    skip: !has('ruby', ['-e', 'require "minitest"']) && 'ruby with minitest is not installed',
    source: /^lib\/textkit\.rb$/,
    oracle: /^test\/textkit_test\.rb$/,
  },
  {
    name: 'C',
    framework: 'cmake',
    repo: cStrkitRepo,
    skip: !has('cmake', ['--version']) && 'cmake is not installed',
    source: /^src\/strkit\.c$/,
    oracle: /^tests\/test_\w+\.c$/,
  },
  {
    name: 'Java',
    framework: 'maven',
    repo: javaCalcRepo,
    skip:
      (!has('mvn', ['-v']) || !existsSync(M2)) &&
      'maven, or the pinned plugins in ~/.m2, are not here (Maven runs offline)',
    source: /^src\/main\/java\/calc\/Calc\.java$/,
    oracle: /^src\/test\/java\/calc\/CalcTest\.java$/,
  },
  {
    name: 'Go',
    framework: 'go',
    repo: goKrTextRepo,
    skip: !has('go', ['version']) && 'go is not installed',
    source: /^(wrap|indent|colwriter\/column)\.go$/,
    oracle: /_test\.go$/,
  },
];

const outs: string[] = [];
after(() => {
  for (const o of outs) rmSync(o, { recursive: true, force: true });
});

describe('ssr inject beyond JavaScript and Python', () => {
  for (const lang of LANGUAGES) {
    test(`${lang.name}: a valid bug that re-validates`, { skip: lang.skip }, async () => {
      const repo = lang.repo();
      const before = treeHash(repo);
      const out = mkdtempSync(join(tmpdir(), `ssr-inject-${lang.name.toLowerCase()}-`));
      outs.push(out);
      const summary = await injectBugs({
        repo,
        out,
        count: 1,
        seed: 1,
        maxCandidates: 6,
        strategies: ['removal', 'mutation'],
      });
      assert.equal(summary.framework, lang.framework);
      // Coverage sees Node and Python processes only: no suite run is spent measuring here.
      assert.ok(
        summary.notes.some((n) => n.startsWith('coverage: no JavaScript/TypeScript or Python')),
        summary.notes.join('\n'),
      );
      assert.ok(
        summary.artifacts.length >= 1,
        `no valid artifact: ${JSON.stringify(summary.byStrategy)} ${JSON.stringify(summary.failures)}`,
      );
      const id = summary.artifacts[0]!;
      const bug = readFileSync(join(out, id, 'bug_inject.diff'), 'utf8');
      const weaken = readFileSync(join(out, id, 'test_weaken.diff'), 'utf8');
      const touched = (diff: string) =>
        [...diff.matchAll(/^diff --git a\/(\S+) b\//gm)].map((m) => m[1]!);
      assert.ok(
        touched(bug).every((f) => lang.source.test(f)),
        bug,
      );
      assert.ok(
        touched(weaken).length > 0 && touched(weaken).every((f) => lang.oracle.test(f)),
        weaken,
      );
      const r = await runCli(['validate', join(out, id), '--repo', repo, '--json']);
      assert.equal(r.code, 0, `${id}: exit ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(
        report.checks.map((c: { id: number; status: string }) => [c.id, c.status]),
        [1, 2, 3, 4, 5, 6, 7].map((n) => [n, 'passed']),
      );
      assert.equal(treeHash(repo), before, 'the repository is unchanged');
    });
  }
});
