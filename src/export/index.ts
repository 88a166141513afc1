import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore } from '../store/run-store.js';
import { UsageError } from '../util/errors.js';
import { writeJsonl } from './jsonl.js';
import { checkOutFile } from './out-path.js';
import { writeParquet } from './parquet.js';
import { exportRows } from './rows.js';

export {
  type ArtifactSource,
  type ExportableArtifact,
  readArtifactSource,
} from './artifact-source.js';
export {
  checkHarborTask,
  exportHarbor,
  type HarborExportOptions,
  type HarborExportResult,
  type OracleCheck,
} from './harbor.js';
export { harborTaskFiles } from './harbor-files.js';
export type { OpenAIMessage, OpenAITool, OpenAIToolCall } from './openai.js';
export { type ExportRow, type ExportRows, exportRows, groupAdvantages } from './rows.js';
export {
  exportSweBench,
  type SweBenchExportOptions,
  type SweBenchExportResult,
  type SweBenchInstance,
  sweBenchInstance,
} from './swe-bench.js';

/** Rollout formats (one row per episode of a run). */
export const ROLLOUT_FORMATS = ['jsonl', 'parquet'] as const;
/** Task formats (one task per valid artifact, solver role). */
export const TASK_FORMATS = ['harbor', 'swe-bench'] as const;
export const EXPORT_FORMATS = [...ROLLOUT_FORMATS, ...TASK_FORMATS] as const;
export type ExportFormat = (typeof ROLLOUT_FORMATS)[number];

export interface ExportOptions {
  format: string;
  /** Default: `<run-dir>/export/episodes.<format>`. */
  out?: string;
  /** Also export episodes whose reward is not final yet (reward and advantage null). */
  includePending?: boolean;
}

export interface ExportResult {
  format: ExportFormat;
  out: string;
  rows: number;
  /** Episodes with a pending reward: left out unless `includePending`. */
  pending: number;
  includePending: boolean;
  /** Rows exported without messages because their trajectory file was missing. */
  missingTrajectories: number;
  /** Episodes left out because they failed on model or infrastructure errors (no reward). */
  errors: number;
  bytes: number;
}

function checkFormat(format: string): ExportFormat {
  if ((ROLLOUT_FORMATS as readonly string[]).includes(format)) return format as ExportFormat;
  throw new UsageError(
    (EXPORT_FORMATS as readonly string[]).includes(format)
      ? `${format} is a task format: use exportHarbor or exportSweBench`
      : `unknown export format "${format}" (use ${EXPORT_FORMATS.join(', ')})`,
  );
}

function outPath(store: RunStore, format: ExportFormat, out: string | undefined): string {
  if (out === undefined) {
    const dir = join(store.dir, 'export');
    mkdirSync(dir, { recursive: true });
    return join(dir, `episodes.${format}`);
  }
  return checkOutFile(out);
}

/**
 * Writes a run's finished episodes as one file for a trainer. The file appears whole or
 * not at all (written beside, then renamed), so a reader polling for it never sees half.
 */
export async function exportRun(runDir: string, opts: ExportOptions): Promise<ExportResult> {
  const format = checkFormat(opts.format);
  const store = RunStore.open(runDir);
  try {
    const out = outPath(store, format, opts.out);
    const includePending = !!opts.includePending;
    const rows = exportRows(store, { includePending });
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const n = format === 'jsonl' ? writeJsonl(tmp, rows) : writeParquet(tmp, rows);
      renameSync(tmp, out);
      return {
        format,
        out,
        rows: n,
        pending: rows.pending,
        includePending,
        missingTrajectories: rows.missingTrajectories,
        errors: rows.errors,
        bytes: statSync(out).size,
      };
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    store.close();
  }
}
