import { posix } from 'node:path';
import { z } from 'zod';
import { shellQuote } from '../../sandbox/local.js';
import type { Sandbox } from '../../sandbox/types.js';
import { argsObject, isResult, validate } from './args.js';
import { DEFAULT_OUTPUT_BUDGET, truncateMiddle } from './truncate.js';
import { fail, ok, type Tool, type ToolContext, type ToolResult } from './types.js';

/** Lines of context shown around an edit. */
const SNIPPET_CONTEXT = 4;

/**
 * The editor's memory for one episode: for each file, its contents before each edit by the
 * editor (null: the file did not exist), newest last.
 */
export class EditorState {
  readonly history = new Map<string, (Buffer | null)[]>();

  record(rel: string, before: Buffer | null): void {
    const list = this.history.get(rel) ?? [];
    list.push(before);
    this.history.set(rel, list);
  }

  pop(rel: string): Buffer | null | undefined {
    const list = this.history.get(rel);
    if (!list || list.length === 0) return undefined;
    const v = list.pop();
    if (list.length === 0) this.history.delete(rel);
    return v;
  }
}

const fallbackStates = new WeakMap<Sandbox, EditorState>();

function stateOf(ctx: ToolContext): EditorState {
  if (ctx.editor) return ctx.editor;
  let s = fallbackStates.get(ctx.sandbox);
  if (!s) {
    s = new EditorState();
    fallbackStates.set(ctx.sandbox, s);
  }
  return s;
}

const COMMANDS = ['view', 'create', 'str_replace', 'insert', 'undo_edit'] as const;
type Command = (typeof COMMANDS)[number];

const path = z.string().refine((s) => s.trim() !== '', 'must not be empty');
const SCHEMAS = {
  view: z.object({
    path,
    view_range: z.tuple([z.number().int(), z.number().int()]).optional().describe('[start, end]'),
  }),
  create: z.object({ path, file_text: z.string() }),
  str_replace: z.object({
    path,
    old_str: z.string().refine((s) => s !== '', 'must not be empty'),
    new_str: z.string().optional(),
  }),
  insert: z.object({ path, insert_line: z.number().int().min(0), new_str: z.string() }),
  undo_edit: z.object({ path }),
} satisfies Record<Command, z.ZodType>;

const SHAPES: Record<Command, string> = {
  view: '{"command": "view", "path": string, "view_range"?: [start, end] (1-based, end -1 = to the end)}',
  create: '{"command": "create", "path": string, "file_text": string}',
  str_replace:
    '{"command": "str_replace", "path": string, "old_str": string (non-empty), "new_str"?: string}',
  insert: '{"command": "insert", "path": string, "insert_line": integer >= 0, "new_str": string}',
  undo_edit: '{"command": "undo_edit", "path": string}',
};

const ALL_SHAPES = `one of\n${COMMANDS.map((c) => `  ${SHAPES[c]}`).join('\n')}`;

export interface EditorToolOptions {
  /** Characters of a `view` result (head + tail); default 16 KiB. */
  outputBudget?: number;
}

export function editorTool(opts: EditorToolOptions = {}): Tool {
  const budget = opts.outputBudget ?? DEFAULT_OUTPUT_BUDGET;
  return {
    spec: {
      name: 'editor',
      description:
        'View, create and edit text files of the repository. Paths are relative to the ' +
        'repository root, or absolute under /repo.\n' +
        '* `view`: a file with line numbers (optionally only `view_range` [start, end], 1-based, ' +
        'end -1 for the end of the file), or a directory: its files and directories up to two ' +
        'levels deep (not .git, not node_modules).\n' +
        '* `create`: a new file with `file_text` (refused if the path exists; edit existing ' +
        'files with str_replace or insert).\n' +
        '* `str_replace`: replace `old_str`, which must occur exactly once in the file (include ' +
        'enough surrounding lines to make it unique; whitespace and indentation must match ' +
        'exactly), with `new_str` (omit it to delete). The edited region is shown afterwards.\n' +
        '* `insert`: insert `new_str` as new lines after line `insert_line` (0 = at the top).\n' +
        '* `undo_edit`: revert the last edit this tool made to the file (repeatable).',
      parameters: {
        type: 'object',
        properties: {
          command: {
            type: 'string',
            enum: [...COMMANDS],
            description: 'The operation: view, create, str_replace, insert or undo_edit.',
          },
          path: {
            type: 'string',
            description: 'File or directory, e.g. `src/index.js` or `/repo/src/index.js`.',
          },
          view_range: {
            type: 'array',
            items: { type: 'integer' },
            minItems: 2,
            maxItems: 2,
            description: 'view only: [start, end] line numbers, 1-based; end -1 = to the end.',
          },
          file_text: { type: 'string', description: 'create only: the whole file content.' },
          old_str: {
            type: 'string',
            description: 'str_replace only: the exact text to replace (must be unique).',
          },
          new_str: {
            type: 'string',
            description: 'str_replace: the replacement (default empty); insert: the lines to add.',
          },
          insert_line: {
            type: 'integer',
            description: 'insert only: the new text goes after this line (0 = top of the file).',
          },
        },
        required: ['command', 'path'],
        additionalProperties: false,
      },
    },
    execute: async (raw, ctx) => {
      try {
        return await runEditor(raw, ctx, budget);
      } catch (err) {
        return fail(`editor: ${(err as Error).message}`);
      }
    },
  };
}

async function runEditor(raw: unknown, ctx: ToolContext, budget: number): Promise<ToolResult> {
  const obj = argsObject('editor', raw, ALL_SHAPES);
  if (isResult(obj)) return obj;
  const command = obj.command;
  if (typeof command !== 'string' || !(COMMANDS as readonly string[]).includes(command)) {
    const got = command === undefined ? 'it is missing' : `got ${JSON.stringify(command)}`;
    return fail(
      `editor: "command" must be one of ${COMMANDS.join(', ')} (${got}).\n` +
        `Expected arguments: ${ALL_SHAPES}`,
    );
  }
  const cmd = command as Command;
  const args = validate(`editor ${cmd}`, SCHEMAS[cmd] as z.ZodType<Args>, obj, SHAPES[cmd]);
  if (isResult(args)) return args;
  const rel = repoRelative(ctx.sandbox, args.path);
  if (isResult(rel)) return rel;
  const state = stateOf(ctx);
  switch (cmd) {
    case 'view':
      return view(ctx.sandbox, rel, args.path, args.view_range, budget);
    case 'create':
      return create(ctx.sandbox, state, rel, args.path, args.file_text!);
    case 'str_replace':
      return strReplace(ctx.sandbox, state, rel, args.path, args.old_str!, args.new_str ?? '');
    case 'insert':
      return insert(ctx.sandbox, state, rel, args.path, args.insert_line!, args.new_str!);
    case 'undo_edit':
      return undo(ctx.sandbox, state, rel, args.path);
  }
}

interface Args {
  path: string;
  view_range?: [number, number];
  file_text?: string;
  old_str?: string;
  new_str?: string;
  insert_line?: number;
}

/** The path relative to the repo root ('' for the root), or a refusal. */
function repoRelative(sb: Sandbox, p: string): string | ToolResult {
  if (p.includes('\0')) return fail('editor: the path contains a NUL byte.');
  const root = sb.repoPath.replace(/\/+$/, '');
  let rel = p.trim().replace(/\\/g, '/');
  if (rel.startsWith('/')) {
    const norm = posix.normalize(rel);
    if (norm !== root && !norm.startsWith(`${root}/`)) {
      return fail(
        `editor: ${p} is outside the repository. Use a path relative to the repository ` +
          `root or an absolute path under ${root}.`,
      );
    }
    rel = norm.slice(root.length + 1);
  }
  rel = posix.normalize(rel === '' ? '.' : rel).replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) {
    return fail(
      `editor: ${p} is outside the repository. Use a path relative to the repository root ` +
        `or an absolute path under ${root}.`,
    );
  }
  return rel === '.' ? '' : rel;
}

type Kind = 'file' | 'dir' | 'symlink' | 'other' | 'missing';

async function kindOf(sb: Sandbox, rel: string): Promise<Kind> {
  const q = shellQuote(rel === '' ? '.' : rel);
  const r = await sb.exec(
    `if [ -L ${q} ]; then echo symlink; elif [ -d ${q} ]; then echo dir; ` +
      `elif [ -f ${q} ]; then echo file; elif [ -e ${q} ]; then echo other; else echo missing; fi`,
    { timeoutMs: 30_000 },
  );
  const k = r.stdout.trim();
  if (r.exitCode !== 0 || !['file', 'dir', 'symlink', 'other', 'missing'].includes(k)) {
    throw new Error(`could not inspect ${rel || '.'}: ${r.stderr.trim() || 'unknown error'}`);
  }
  return k as Kind;
}

/** Why `shown` cannot be read as a text file, or null when it can (with its buffer). */
async function readText(
  sb: Sandbox,
  rel: string,
  shown: string,
): Promise<{ buf: Buffer; text: string } | ToolResult> {
  let buf: Buffer | null = null;
  let refused = false;
  if (rel !== '') {
    try {
      buf = await sb.readFile(rel);
    } catch {
      refused = true;
    }
  }
  if (!buf) {
    const kind = rel === '' ? 'dir' : refused ? await kindOf(sb, rel) : 'missing';
    return fail(notAFile(shown, kind));
  }
  const text = decodeText(buf);
  if (text === null) {
    return fail(
      `editor: ${shown} is a binary file (or not UTF-8 text); the editor handles text files ` +
        'only. Inspect it with bash instead (e.g. `file`, `xxd | head`).',
    );
  }
  return { buf, text };
}

function notAFile(shown: string, kind: Kind): string {
  switch (kind) {
    case 'missing':
      return `editor: ${shown} does not exist. Use \`view\` on a directory to see its files, or \`create\` to make a new file.`;
    case 'dir':
      return `editor: ${shown} is a directory, not a file.`;
    case 'symlink':
      return `editor: ${shown} is a symbolic link; the editor does not follow links. Use the path of the file it points to.`;
    default:
      return `editor: ${shown} is not a regular file.`;
  }
}

function decodeText(buf: Buffer): string | null {
  if (buf.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

/** Lines of `text` (a final newline ends the last line, it does not start a new one). */
function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true };
  const lines = text.split('\n');
  const finalNewline = text.endsWith('\n');
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}

function joinLines(lines: string[], finalNewline: boolean): string {
  if (lines.length === 0) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

function numbered(lines: string[], firstLine: number): string {
  return lines.map((l, i) => `${String(firstLine + i).padStart(6)}\t${l}`).join('\n');
}

async function view(
  sb: Sandbox,
  rel: string,
  shown: string,
  range: [number, number] | undefined,
  budget: number,
): Promise<ToolResult> {
  let buf: Buffer | null = null;
  let refused = false;
  if (rel !== '') {
    try {
      buf = await sb.readFile(rel);
    } catch {
      refused = true;
    }
  }
  if (!buf) {
    const kind = rel === '' ? 'dir' : refused ? await kindOf(sb, rel) : 'missing';
    if (kind === 'dir') {
      if (range) return fail('editor: view_range applies to files, not to directories.');
      return viewDir(sb, rel, shown, budget);
    }
    return fail(notAFile(shown, kind));
  }
  const text = decodeText(buf);
  if (text === null) {
    return fail(
      `editor: ${shown} is a binary file (or not UTF-8 text); the editor shows text files ` +
        'only. Inspect it with bash instead (e.g. `file`, `xxd | head`).',
    );
  }
  const { lines } = splitLines(text);
  if (lines.length === 0) return ok(`${shown} is empty.`);
  let start = 1;
  let end = lines.length;
  if (range) {
    const [s, e] = range;
    if (s < 1 || s > lines.length) {
      return fail(
        `editor: invalid view_range [${s}, ${e}]: start must be between 1 and ${lines.length} (the file has ${lines.length} lines).`,
      );
    }
    if (e !== -1 && e < s) {
      return fail(
        `editor: invalid view_range [${s}, ${e}]: end must be >= start, or -1 for the end of the file.`,
      );
    }
    start = s;
    end = e === -1 ? lines.length : Math.min(e, lines.length);
  }
  const body = numbered(lines.slice(start - 1, end), start);
  const cut = truncateMiddle(body, budget);
  const hint =
    cut === body
      ? ''
      : '\n(The output was cut; use view_range to see the omitted lines, or grep -n with bash.)';
  const header = range
    ? `Lines ${start}-${end} of ${shown} (${lines.length} lines):\n`
    : `${shown} (${lines.length} lines):\n`;
  return ok(header + cut + hint);
}

async function viewDir(sb: Sandbox, rel: string, shown: string, budget: number) {
  const q = shellQuote(rel === '' ? '.' : rel);
  const r = await sb.exec(
    `find ${q} -mindepth 1 -maxdepth 2 \\( -name .git -o -name node_modules \\) -prune -o ` +
      `-printf '%y %P\\n' | LC_ALL=C sort -k2`,
    { timeoutMs: 60_000, maxOutputBytes: 4 * 1024 * 1024 },
  );
  if (r.exitCode !== 0) return fail(`editor: could not list ${shown}: ${r.stderr.trim()}`);
  const prefix = rel === '' ? '' : `${rel}/`;
  const entries = r.stdout
    .split('\n')
    .filter((l) => l.length > 2)
    .map((l) => `${prefix}${l.slice(2)}${l[0] === 'd' ? '/' : ''}`);
  const where = rel === '' ? 'the repository root' : shown;
  if (entries.length === 0) return ok(`${where} is an empty directory.`);
  const body = entries.join('\n');
  return ok(
    `Files and directories in ${where}, up to 2 levels deep (not .git, not node_modules):\n` +
      truncateMiddle(body, budget),
  );
}

async function create(
  sb: Sandbox,
  state: EditorState,
  rel: string,
  shown: string,
  fileText: string,
): Promise<ToolResult> {
  if (rel === '') return fail('editor: cannot create the repository root.');
  const kind = await kindOf(sb, rel);
  if (kind !== 'missing') {
    return fail(
      kind === 'file'
        ? `editor: ${shown} already exists; create does not overwrite files. Edit it with str_replace or insert, or view it first.`
        : `editor: ${shown} already exists (${kind === 'dir' ? 'a directory' : kind === 'symlink' ? 'a symbolic link' : 'not a regular file'}); create does not overwrite.`,
    );
  }
  await sb.writeFile(rel, fileText);
  state.record(rel, null);
  const n = splitLines(fileText).lines.length;
  return ok(`Created ${shown} (${n} line${n === 1 ? '' : 's'}).`);
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function snippet(text: string, firstLine: number, lastLine: number): string {
  const { lines } = splitLines(text);
  const from = Math.max(1, firstLine - SNIPPET_CONTEXT);
  const to = Math.min(lines.length, lastLine + SNIPPET_CONTEXT);
  if (lines.length === 0) return '(the file is now empty)';
  return numbered(lines.slice(from - 1, to), from);
}

async function strReplace(
  sb: Sandbox,
  state: EditorState,
  rel: string,
  shown: string,
  oldStr: string,
  newStr: string,
): Promise<ToolResult> {
  const file = await readText(sb, rel, shown);
  if (isResult(file)) return file;
  const { text } = file;
  const found: number[] = [];
  for (let i = text.indexOf(oldStr); i !== -1; i = text.indexOf(oldStr, i + oldStr.length)) {
    found.push(i);
  }
  if (found.length === 0) {
    return fail(
      `editor: no replacement made: old_str does not occur in ${shown}. It must match the ` +
        'file exactly, including whitespace and indentation; view the file to copy the text.',
    );
  }
  if (found.length > 1) {
    const lines = found.map((i) => lineOf(text, i));
    return fail(
      `editor: no replacement made: old_str occurs ${found.length} times in ${shown} (at lines ` +
        `${lines.join(', ')}). Include more surrounding lines in old_str to make it unique.`,
    );
  }
  const at = found[0]!;
  const updated = text.slice(0, at) + newStr + text.slice(at + oldStr.length);
  await sb.writeFile(rel, updated);
  state.record(rel, file.buf);
  const first = lineOf(updated, at);
  const last = first + (newStr.match(/\n/g)?.length ?? 0);
  return ok(
    `Edited ${shown}. The region around the change (with line numbers):\n` +
      `${snippet(updated, first, last)}\n` +
      'Check that the edit is what you meant; undo_edit reverts it.',
  );
}

async function insert(
  sb: Sandbox,
  state: EditorState,
  rel: string,
  shown: string,
  insertLine: number,
  newStr: string,
): Promise<ToolResult> {
  const file = await readText(sb, rel, shown);
  if (isResult(file)) return file;
  const { lines, finalNewline } = splitLines(file.text);
  if (insertLine > lines.length) {
    return fail(
      `editor: invalid insert_line ${insertLine}: it must be between 0 (top of the file) and ` +
        `${lines.length} (the end; the file has ${lines.length} lines).`,
    );
  }
  const added = splitLines(newStr).lines;
  if (added.length === 0) added.push('');
  const out = [...lines.slice(0, insertLine), ...added, ...lines.slice(insertLine)];
  // A file without a final newline keeps that, unless the text went after its last line.
  const keepFinal = finalNewline || insertLine === lines.length;
  const updated = joinLines(out, keepFinal);
  await sb.writeFile(rel, updated);
  state.record(rel, file.buf);
  return ok(
    `Inserted ${added.length} line${added.length === 1 ? '' : 's'} into ${shown} after line ` +
      `${insertLine}. The region around the change (with line numbers):\n` +
      `${snippet(updated, insertLine + 1, insertLine + added.length)}`,
  );
}

async function undo(
  sb: Sandbox,
  state: EditorState,
  rel: string,
  shown: string,
): Promise<ToolResult> {
  const before = state.pop(rel);
  if (before === undefined) {
    return fail(`editor: there is no edit of ${shown} by this tool to undo.`);
  }
  if (before === null) {
    const r = await sb.exec(`rm -f -- ${shellQuote(rel)}`, { timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      state.record(rel, before);
      return fail(`editor: could not remove ${shown}: ${r.stderr.trim()}`);
    }
    return ok(`Undid the creation of ${shown}: the file is removed.`);
  }
  await sb.writeFile(rel, before);
  const text = decodeText(before);
  const n = text === null ? 0 : splitLines(text).lines.length;
  return ok(`Reverted the last edit of ${shown}; it is back to its previous ${n} lines.`);
}
