/**
 * SWE-bench task instances as JSONL, plus where each task's environment lives. SWE-bench ships
 * FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings; hand-written files use plain lists, so
 * both are accepted.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';

const testList = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  },
  z.array(z.string(), { message: 'expected a list of test ids (or a JSON-encoded list)' }),
);

export const EvalTaskSchema = z
  .object({
    instance_id: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, . _ - only (it names output folders)'),
    repo: z.string().default(''),
    base_commit: z.string().min(1),
    problem_statement: z.string().min(1),
    test_patch: z.string().min(1),
    /** The gold patch: never shown to the solver, kept for reference. */
    patch: z.string().optional(),
    // An empty list would make any patch, even none, resolve the task.
    FAIL_TO_PASS: testList.refine((l) => l.length > 0, {
      message:
        'needs at least one test: with none, any patch (even an empty one) resolves the task',
    }),
    PASS_TO_PASS: testList.default([]),
    /** An environment image (OCI layout dir or .tar); relative paths resolve against the file. */
    image: z.string().min(1).optional(),
    /** The repository inside the image (default: what the image runtime decides). */
    repo_path: z.string().min(1).optional(),
    /** A host git checkout; relative paths resolve against the tasks file. */
    repo_dir: z.string().min(1).optional(),
    /** ssr extensions: how tests run and are parsed; discovery runs when absent. */
    test_script: z.string().min(1).optional(),
    test_parser: z.string().min(1).optional(),
    /**
     * ssr extension: a diff applied to the environment at base_commit to make the task's start
     * state (`ssr export --format swe-bench` puts a self-play bug and its weakened tests here).
     */
    setup_patch: z.string().min(1).optional(),
    /**
     * ssr extension: oracle test files. The model's changes to them are discarded before
     * grading, as to the files test_patch touches; for `<path>#inline-tests` entries only
     * the file's inline-test regions are reset (artifact/oracle-regions.ts).
     */
    test_files: z.array(z.string().min(1)).optional(),
  })
  .refine((t) => !!t.test_script === !!t.test_parser, {
    message: 'test_script and test_parser go together: give both or neither',
    path: ['test_script'],
  });

export type EvalTask = z.infer<typeof EvalTaskSchema>;

export interface LoadTasksOptions {
  /** `<dir>/<instance_id>` (an OCI layout dir or `.tar`) is the image of tasks without one. */
  imageDir?: string;
}

function imageFor(dir: string, id: string): string | null {
  for (const p of [join(dir, id), join(dir, `${id}.tar`)]) if (existsSync(p)) return p;
  return null;
}

/**
 * Reads and validates a tasks file; every problem is a UsageError naming the line (and field),
 * and every environment is checked to exist before any model is called.
 */
export function loadTasks(path: string, opts: LoadTasksOptions = {}): EvalTask[] {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`tasks file not readable: ${path}`);
  }
  const base = dirname(resolve(path));
  const tasks: EvalTask[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const where = `${path}:${i + 1}`;
    if (!raw.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new UsageError(`${where}: not valid JSON: ${(err as Error).message}`);
    }
    const parsed = EvalTaskSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || '(line)';
      const absent =
        issue.path.length === 1 &&
        typeof json === 'object' &&
        json !== null &&
        (json as Record<string, unknown>)[String(issue.path[0])] === undefined;
      const message = absent ? 'missing' : issue.message;
      throw new UsageError(`${where}: ${field}: ${message}`);
    }
    const task = parsed.data;
    if (seen.has(task.instance_id))
      throw new UsageError(`${where}: instance_id: ${task.instance_id} appears twice`);
    seen.add(task.instance_id);
    const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
    if (task.repo_dir) {
      task.repo_dir = at(task.repo_dir);
      if (!existsSync(task.repo_dir) || !statSync(task.repo_dir).isDirectory())
        throw new UsageError(`${where}: repo_dir: not a directory: ${task.repo_dir}`);
    } else if (task.image) {
      task.image = at(task.image);
      if (!existsSync(task.image))
        throw new UsageError(`${where}: image: not found: ${task.image}`);
    } else if (opts.imageDir) {
      const image = imageFor(opts.imageDir, task.instance_id);
      if (!image) {
        throw new UsageError(
          `${where}: no image for ${task.instance_id} in --image-dir ${opts.imageDir} (looked for ${task.instance_id} and ${task.instance_id}.tar)`,
        );
      }
      task.image = resolve(image);
    } else {
      throw new UsageError(
        `${where}: ${task.instance_id} has no environment: give repo_dir or image (or pass --image-dir)`,
      );
    }
    tasks.push(task);
  });
  if (!tasks.length) throw new UsageError(`${path} contains no tasks`);
  return tasks;
}
