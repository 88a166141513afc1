import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';

/** The five files of SSR-SPEC section 2, and the names the paper's prompts use for three. */
export const ARTIFACT_FILES = {
  testScript: { name: 'test_script.sh', aliases: [] as string[] },
  testFiles: { name: 'test_files.txt', aliases: [] as string[] },
  testParser: { name: 'test_parser.py', aliases: ['parse_test_output.py'] },
  bugDiff: { name: 'bug_inject.diff', aliases: ['bug_patch.diff'] },
  weakenDiff: { name: 'test_weaken.diff', aliases: ['test_patch.diff'] },
} as const;

export type ArtifactPart = keyof typeof ARTIFACT_FILES;

// Artifacts are text a model wrote; anything this large is a mistake, not a bug spec.
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export const ArtifactMetadataSchema = z.object({
  id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'id may use letters, digits, . _ - only'),
  repo: z.string().default(''),
  /** Id of the artifact this one was built on (higher-order bugs); null for first order. */
  parent: z.string().nullable().default(null),
  order: z.number().int().min(1).default(1),
  strategy: z.string().default('unknown'),
  createdBy: z.string().default('unknown'),
  createdAt: z.string().default(() => new Date().toISOString()),
  notes: z.string().optional(),
  /**
   * What test_script.sh runs: the whole suite, or (`covering`) only the `files` test files
   * that execute the bug's lines, of the suite's `of` (ssr inject --test-scope).
   */
  testScope: z
    .object({
      kind: z.enum(['full', 'covering']),
      files: z.number().int().min(0).optional(),
      of: z.number().int().min(0).optional(),
    })
    .optional(),
});

export type ArtifactMetadata = z.infer<typeof ArtifactMetadataSchema>;

export interface Artifact {
  testScript: string;
  testFiles: string[];
  testParser: string;
  bugDiff: string;
  weakenDiff: string;
  metadata: ArtifactMetadata;
}

/** test_files.txt: one repo-relative path a line; blank lines and # comments are ignored. */
export function parseTestFiles(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const p = line.replace(/^\.\//, '');
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function readPart(dir: string, part: ArtifactPart): string {
  const spec = ARTIFACT_FILES[part];
  for (const name of [spec.name, ...spec.aliases]) {
    const p = join(dir, name);
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (!st.isFile()) throw new UsageError(`artifact file ${p} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) {
      throw new UsageError(`artifact file ${p} is ${st.size} bytes (limit ${MAX_FILE_BYTES})`);
    }
    const buf = readFileSync(p);
    if (buf.includes(0)) throw new UsageError(`artifact file ${p} is binary (contains NUL bytes)`);
    return buf.toString('utf8');
  }
  const also = spec.aliases.length ? ` (or ${spec.aliases.join(', ')})` : '';
  throw new UsageError(`artifact ${dir} is missing ${spec.name}${also}`);
}

/** The content hash of an artifact: same five files, same hash, wherever they live. */
export function artifactHash(a: Omit<Artifact, 'metadata'>): string {
  return sha256(a.testScript, a.testFiles.join('\n'), a.testParser, a.bugDiff, a.weakenDiff);
}

export function readArtifact(dir: string): Artifact {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new UsageError(`artifact directory not found: ${dir}`);
  if (!statSync(abs).isDirectory())
    throw new UsageError(`artifact path is not a directory: ${dir}`);
  const body = {
    testScript: readPart(abs, 'testScript'),
    testFiles: parseTestFiles(readPart(abs, 'testFiles')),
    testParser: readPart(abs, 'testParser'),
    bugDiff: readPart(abs, 'bugDiff'),
    weakenDiff: readPart(abs, 'weakenDiff'),
  };
  let raw: unknown = { id: `artifact-${artifactHash(body).slice(0, 12)}` };
  const metaPath = join(abs, 'metadata.json');
  if (existsSync(metaPath)) {
    try {
      raw = JSON.parse(readFileSync(metaPath, 'utf8'));
    } catch (err) {
      throw new UsageError(`${metaPath} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = ArtifactMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${metaPath}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { ...body, metadata: parsed.data };
}

/**
 * Writes the five files (canonical names) and metadata.json. The folder appears complete or
 * not at all: it is written beside its destination and renamed into place.
 */
export function writeArtifact(dir: string, a: Artifact, extra: Record<string, string> = {}): void {
  const dest = resolve(dir);
  const staging = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  mkdirSync(staging, { recursive: true });
  try {
    const w = (name: string, content: string) => writeFileSync(join(staging, name), content);
    w(ARTIFACT_FILES.testScript.name, a.testScript);
    w(ARTIFACT_FILES.testFiles.name, `${a.testFiles.join('\n')}\n`);
    w(ARTIFACT_FILES.testParser.name, a.testParser);
    w(ARTIFACT_FILES.bugDiff.name, a.bugDiff);
    w(ARTIFACT_FILES.weakenDiff.name, a.weakenDiff);
    w('metadata.json', `${JSON.stringify(ArtifactMetadataSchema.parse(a.metadata), null, 2)}\n`);
    for (const [name, content] of Object.entries(extra)) w(name, content);
    mkdirSync(dirname(dest), { recursive: true });
    if (existsSync(dest)) {
      // Move the old folder aside first, so a failed swap leaves one complete artifact.
      const old = `${dest}.old-${randomBytes(4).toString('hex')}`;
      renameSync(dest, old);
      try {
        renameSync(staging, dest);
      } catch (err) {
        renameSync(old, dest);
        throw err;
      }
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(staging, dest);
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
