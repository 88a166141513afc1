import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal } from '../src/store/journal.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'ssr-journal-')), 'sub', 'j.jsonl');

test('records survive a reopen, in order', () => {
  const path = fresh();
  const j = new Journal<{ n: number }>(path);
  assert.deepEqual(j.read(), []);
  j.append({ n: 1 });
  j.append({ n: 2 });
  j.close();
  assert.deepEqual(new Journal<{ n: number }>(path).read(), [{ n: 1 }, { n: 2 }]);
});

test('a torn last line (crash mid-write) is ignored and the next record starts on its own line', () => {
  const path = fresh();
  const j = new Journal<{ n: number }>(path);
  j.append({ n: 1 });
  j.close();
  appendFileSync(path, '{"n": 2, "trunc');
  const again = new Journal<{ n: number }>(path);
  assert.deepEqual(again.read(), [{ n: 1 }]);
  again.append({ n: 3 });
  again.close();
  assert.deepEqual(new Journal<{ n: number }>(path).read(), [{ n: 1 }, { n: 3 }]);
  assert.match(readFileSync(path, 'utf8'), /trunc\n\{"n":3\}\n$/);
});
