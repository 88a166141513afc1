import { closeSync, openSync, writeSync } from 'node:fs';
import type { ExportRow } from './rows.js';

/**
 * One JSON object per line. Each row is written before the next is pulled, so memory holds
 * one trajectory however large the run is.
 */
export function writeJsonl(path: string, rows: Iterable<ExportRow>): number {
  const fd = openSync(path, 'w');
  let n = 0;
  try {
    for (const row of rows) {
      writeSync(fd, `${JSON.stringify(row)}\n`);
      n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}
