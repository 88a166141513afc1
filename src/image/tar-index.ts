import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { UsageError } from '../util/errors.js';

/** Where one regular file's content sits inside a tar file. */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;

function cString(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function numeric(buf: Buffer, start: number, len: number): number {
  // GNU base-256 for sizes of 8 GiB and more; octal text otherwise.
  if (buf[start]! & 0x80) {
    let n = buf[start]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + buf[start + i]!;
    return n;
  }
  const text = cString(buf, start, len).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) break;
    const len = Number.parseInt(data.toString('utf8', pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.toString('utf8', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

export function normalizeMemberName(name: string): string {
  return posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/+$/, '');
}

/**
 * The regular files of an (uncompressed) tar file by name, read from the headers alone: an
 * image tarball is a handful of members, some of them hundreds of MB, so seeking past the
 * content makes opening a cached image cost a few small reads instead of a full read.
 */
export function indexTar(path: string): Map<string, TarMember> {
  const members = new Map<string, TarMember>();
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | undefined;
    let pax = new Map<string, string>();
    let sawHeader = false;
    while (pos + BLOCK <= fileSize) {
      if (readSync(fd, header, 0, BLOCK, pos) !== BLOCK) break;
      if (header.every((b) => b === 0)) break;
      const magic = header.toString('latin1', 257, 262);
      if (magic !== 'ustar') {
        throw new UsageError(
          sawHeader
            ? `corrupt tar file: ${path}`
            : `not a tar file (nor an image directory): ${path}`,
        );
      }
      sawHeader = true;
      const type = String.fromCharCode(header[156]!);
      let size = numeric(header, 124, 12);
      const dataStart = pos + BLOCK;
      const readData = () => {
        const buf = Buffer.alloc(size);
        readSync(fd, buf, 0, size, dataStart);
        return buf;
      };
      if (type === 'x') {
        pax = paxRecords(readData());
      } else if (type === 'L') {
        longName = cString(readData(), 0, size);
      } else if (type !== 'g') {
        const prefix = cString(header, 345, 155);
        const base = cString(header, 0, 100);
        const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${base}` : base);
        const paxSize = pax.get('size');
        if (paxSize !== undefined) size = Number(paxSize);
        if (type === '0' || type === '\0' || type === '7') {
          members.set(normalizeMemberName(name), { offset: dataStart, size });
        }
        longName = undefined;
        pax = new Map();
      }
      if (dataStart + size > fileSize) throw new UsageError(`truncated tar file: ${path}`);
      pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    }
    if (!sawHeader) throw new UsageError(`not a tar file (nor an image directory): ${path}`);
  } finally {
    closeSync(fd);
  }
  return members;
}
