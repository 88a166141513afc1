import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { recoverInterruptedWrites } from '../src/util/interrupted-writes.js';

function folder(root: string, name: string, content: string): void {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'metadata.json'), content);
}

test('a killed writer leaves nothing behind: staging goes, a moved-aside artifact comes back', () => {
  const root = mkdtempSync(join(tmpdir(), 'ssr-interrupted-'));
  folder(root, 'a', 'a');
  folder(root, 'b.tmp-0123abcd', 'half of b');
  // Killed between moving c aside and renaming its replacement into place.
  folder(root, 'c.old-89abcdef', 'old c');
  // Killed after the swap but before the old folder was removed.
  folder(root, 'd', 'new d');
  folder(root, 'd.old-deadbeef', 'old d');
  // Names that only look alike are not the writer's.
  folder(root, 'e.tmp-notahex', 'e');
  recoverInterruptedWrites(root);
  assert.deepEqual(readdirSync(root).sort(), ['a', 'c', 'd', 'e.tmp-notahex']);
  assert.equal(readFileSync(join(root, 'c', 'metadata.json'), 'utf8'), 'old c');
  assert.equal(readFileSync(join(root, 'd', 'metadata.json'), 'utf8'), 'new d');
});

test('a folder that does not exist yet is not an error', () => {
  recoverInterruptedWrites(join(tmpdir(), 'ssr-no-such-folder-here'));
});
