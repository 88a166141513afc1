/**
 * Ruby test discovery on small repositories written here (no gem registry is reachable): a
 * minitest suite run file by file, and an RSpec suite with its JSON report. The parsed counts
 * must match what ruby/rspec print themselves, ids must be stable over runs, and a broken file
 * must show as a failure of that file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { discoverTests } from '../src/discovery/discover.js';
import { proposeCandidates } from '../src/discovery/frameworks.js';
import { RepoScan } from '../src/discovery/scan.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { makeRepo, removeTempDirs } from './helpers/sandbox-repo.js';

const hasRuby = (() => {
  try {
    execFileSync('ruby', ['-e', 'require "minitest"; require "rspec/core"'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export const RUBY_CALC = `module Calc
  def self.add(a, b)
    a + b
  end

  def self.clamp(x, lo, hi)
    return lo if x < lo
    return hi if x > hi
    x
  end

  def self.words(text)
    text.split(/\\s+/).reject(&:empty?)
  end
end
`;

const MINITEST_FILES = {
  'lib/calc.rb': RUBY_CALC,
  Rakefile: 'require "rake/testtask"\nRake::TestTask.new(:test) { |t| t.libs << "test" }\n',
  'test/test_helper.rb': 'require "minitest/autorun"\nrequire "calc"\n',
  'test/calc_test.rb': `require "test_helper"

class CalcTest < Minitest::Test
  def test_add
    assert_equal 3, Calc.add(1, 2)
  end

  def test_clamp_high
    assert_equal 5, Calc.clamp(9, 0, 5)
  end

  def test_clamp_low
    assert_equal 0, Calc.clamp(-1, 0, 4)
  end

  def test_later
    skip "not yet"
  end
end
`,
  'test/words_test.rb': `require "test_helper"

class WordsTest < Minitest::Test
  def test_split
    assert_equal %w[a b], Calc.words(" a  b ")
  end

  def test_known_bug
    assert_equal 1, Calc.words("x").size + 1
  end
end
`,
  'test/broken_test.rb':
    'require "test_helper"\nrequire "no_such_gem_here"\n\nclass BrokenTest < Minitest::Test\n  def test_never\n    assert true\n  end\nend\n',
};

const RSPEC_FILES = {
  'lib/calc.rb': RUBY_CALC,
  '.rspec': '--require spec_helper\n',
  'spec/spec_helper.rb': 'require "calc"\n',
  'spec/calc_spec.rb': `RSpec.describe Calc do
  describe ".add" do
    it "adds two numbers" do
      expect(Calc.add(1, 2)).to eq(3)
    end
  end

  describe ".clamp" do
    it "caps at the top" do
      expect(Calc.clamp(9, 0, 5)).to eq(5)
    end

    it "is wrong on purpose" do
      expect(Calc.clamp(1, 0, 5)).to eq(2)
    end

    it "waits" do
      pending "later"
      expect(1).to eq(2)
    end
  end
end
`,
};

describe('Ruby discovery', { skip: hasRuby ? false : 'ruby, minitest or rspec missing' }, () => {
  let host: SandboxHost;
  before(() => {
    host = SandboxHost.open();
  });
  after(async () => {
    await host.close();
    removeTempDirs();
  });

  test('minitest: each file on its own, ids without timings, a file that fails to load fails', async () => {
    const repo = makeRepo(MINITEST_FILES, { git: true });
    const candidates = proposeCandidates(new RepoScan(repo));
    assert.equal(candidates[0]?.framework, 'minitest');
    assert.deepEqual(candidates[0]?.testFiles, [
      'test/broken_test.rb',
      'test/calc_test.rb',
      'test/test_helper.rb',
      'test/words_test.rb',
    ]);
    const { suite, baseline } = await discoverTests(host, host.snapshotDir(repo));
    assert.equal(suite.framework, 'minitest');
    assert.deepEqual(baseline.flaky, []);
    assert.deepEqual(baseline.tests, {
      'test/broken_test.rb > (whole file)': 'failed',
      'test/calc_test.rb > CalcTest#test_add': 'passed',
      'test/calc_test.rb > CalcTest#test_clamp_high': 'passed',
      'test/calc_test.rb > CalcTest#test_clamp_low': 'passed',
      'test/calc_test.rb > CalcTest#test_later': 'skipped',
      'test/words_test.rb > WordsTest#test_known_bug': 'failed',
      'test/words_test.rb > WordsTest#test_split': 'passed',
    });
    assert.ok(suite.testFiles.includes('test/calc_test.rb'));
  });

  test('rspec: the JSON report, the project .rspec options, pending as skipped', async () => {
    const repo = makeRepo(RSPEC_FILES, { git: true });
    const { suite, baseline } = await discoverTests(host, host.snapshotDir(repo));
    assert.equal(suite.framework, 'rspec');
    assert.deepEqual(baseline.tests, {
      'spec/calc_spec.rb > Calc.add adds two numbers': 'passed',
      'spec/calc_spec.rb > Calc.clamp caps at the top': 'passed',
      'spec/calc_spec.rb > Calc.clamp is wrong on purpose': 'failed',
      'spec/calc_spec.rb > Calc.clamp waits': 'skipped',
    });
    assert.deepEqual(suite.testFiles, ['spec/calc_spec.rb', 'spec/spec_helper.rb']);
  });

  test('a spec file that fails to load fails as a whole file', async () => {
    const repo = makeRepo(
      { ...RSPEC_FILES, 'spec/broken_spec.rb': 'require "no_such_gem_here"\n' },
      { git: true },
    );
    const { baseline } = await discoverTests(host, host.snapshotDir(repo));
    assert.equal(baseline.tests['spec/broken_spec.rb > (whole file)'], 'failed');
    assert.equal(baseline.tests['spec/calc_spec.rb > Calc.add adds two numbers'], 'passed');
  });
});

describe('Ruby test-unit discovery', { skip: hasRuby ? false : 'ruby missing' }, () => {
  test('test-unit: each file verbosely, nested sub_test_case ids, omissions skipped', async () => {
    const host = SandboxHost.open();
    try {
      const repo = makeRepo(
        {
          'lib/calc.rb': RUBY_CALC,
          'test/test_calc.rb': `require "test/unit"
require "calc"

class TestCalc < Test::Unit::TestCase
  def test_add
    assert_equal 3, Calc.add(1, 2)
  end

  def test_wrong
    assert_equal 4, Calc.add(1, 2)
  end

  def test_later
    omit "later"
  end

  sub_test_case "clamp" do
    test "caps: at the top" do
      assert_equal 5, Calc.clamp(9, 0, 5)
    end
  end
end
`,
        },
        { git: true },
      );
      const { suite, baseline } = await discoverTests(host, host.snapshotDir(repo));
      assert.equal(suite.framework, 'test-unit');
      assert.deepEqual(baseline.tests, {
        'test/test_calc.rb > TestCalc > clamp > test: caps: at the top': 'passed',
        'test/test_calc.rb > TestCalc > test_add': 'passed',
        'test/test_calc.rb > TestCalc > test_later': 'skipped',
        'test/test_calc.rb > TestCalc > test_wrong': 'failed',
      });
      assert.deepEqual(suite.testFiles, ['test/test_calc.rb']);
    } finally {
      await host.close();
    }
  });
});

test('test-unit through a shared TestCase helper (as the rss gem does) is still test-unit', () => {
  const repo = makeRepo({
    'lib/calc.rb': RUBY_CALC,
    'test/calc-testcase.rb':
      'require "test/unit"\n\nmodule Calc\n  class TestCase < Test::Unit::TestCase\n  end\nend\n',
    'test/test_add.rb':
      'require_relative "calc-testcase"\n\nmodule Calc\n  class TestAdd < TestCase\n    def test_add\n      assert_equal 3, Calc.add(1, 2)\n    end\n  end\nend\n',
  });
  const [first] = proposeCandidates(new RepoScan(repo));
  assert.equal(first?.framework, 'test-unit');
  assert.deepEqual(first?.testFiles, ['test/calc-testcase.rb', 'test/test_add.rb']);
});
