import type { ValidationReport } from '../validate/report.js';

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const MARK = { passed: 'ok  ', failed: 'FAIL', skipped: '-   ' } as const;

/** The human-readable validation report: one line per check, then the verdict. */
export function formatReport(r: ValidationReport): string {
  const lines = [
    `artifact  ${r.artifact.id}  (sha256 ${r.artifact.hash.slice(0, 12)})`,
    `repo      ${r.repo}  (sandbox: ${r.sandbox.isolation}, ${r.sandbox.storage})`,
    '',
  ];
  for (const c of r.checks) {
    const time = c.status === 'skipped' ? '' : seconds(c.durationMs);
    lines.push(`${MARK[c.status]} ${c.id} ${c.name.padEnd(25)} ${time.padStart(8)}  ${c.message}`);
  }
  if (r.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of r.warnings) lines.push(`  - ${w}`);
  }
  lines.push('');
  const t = `${seconds(r.timings.totalMs)}; test runs on the critical path ${seconds(r.timings.criticalPathMs)}`;
  lines.push(
    r.valid
      ? `VALID (${t})`
      : `INVALID: check ${r.failedCheck!.id} (${r.failedCheck!.name}) failed (${t})`,
  );
  return `${lines.join('\n')}\n`;
}
