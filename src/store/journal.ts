import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * An append-only JSON-lines file: one record per finished unit of work, fsynced before the
 * call returns, so a crash (even kill -9) loses at most the record being written. A torn
 * last line is ignored on reading, and the next append starts on a fresh line.
 */
export class Journal<T> {
  private fd: number | null = null;

  constructor(readonly path: string) {}

  /** Every complete record, in order. */
  read(): T[] {
    if (!existsSync(this.path)) return [];
    const out: T[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // A line cut short by a crash: the work it described is redone.
      }
    }
    return out;
  }

  append(record: T): void {
    if (this.fd === null) {
      mkdirSync(dirname(this.path), { recursive: true });
      const torn = existsSync(this.path) && !readFileSync(this.path, 'utf8').endsWith('\n');
      this.fd = openSync(this.path, 'a');
      if (torn && readFileSync(this.path).length > 0) writeSync(this.fd, '\n');
    }
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
