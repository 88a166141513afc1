/**
 * Where in the oracle test files a failing run stopped: the file:line references that test
 * frameworks print (stack frames, pytest/unittest tracebacks, go test output). These are the
 * assertions a weakening has to touch.
 */
export interface FailureLocation {
  file: string;
  line: number;
  /** 1-based column when the framework printed one (JS stack frames do). */
  column?: number;
}

// `path:line[:col]` as stack frames and pytest print it; the path may be absolute in the
// sandbox (/repo/...), a file:// URL, or relative.
const COLON_REF = /((?:file:\/\/)?[\w@+~./-]*[\w-]\.[A-Za-z]{1,5}):(\d+)(?::(\d+))?/g;
// Python tracebacks (unittest, plain scripts): File "path", line N
const PY_FRAME = /File "([^"]+)", line (\d+)/g;

export function failureLocations(
  log: string,
  testFiles: string[],
  repoMount = '/repo',
): FailureLocation[] {
  const files = new Set(testFiles);
  // Go prints paths relative to the package directory: resolve unique basenames.
  const byBase = new Map<string, string | null>();
  for (const f of testFiles) {
    const base = f.split('/').pop()!;
    byBase.set(base, byBase.has(base) ? null : f);
  }
  const normalize = (raw: string): string | null => {
    let p = raw.replace(/^file:\/\//, '');
    if (p.startsWith(`${repoMount}/`)) p = p.slice(repoMount.length + 1);
    p = p.replace(/^\.\//, '');
    if (files.has(p)) return p;
    if (!p.includes('/')) return byBase.get(p) ?? null;
    return null;
  };
  const out: FailureLocation[] = [];
  const seen = new Map<string, FailureLocation>();
  const add = (file: string | null, line: number, column?: number) => {
    if (!file || !Number.isFinite(line) || line < 1) return;
    const key = `${file}:${line}`;
    const known = seen.get(key);
    if (known) {
      // node:test's `location: file:L:1` names where the test starts; its stack frame on the
      // same line (a one-line test) names the assertion: the frame's column is the one to use.
      if (column && column > 1 && (known.column ?? 1) === 1) known.column = column;
      return;
    }
    const loc: FailureLocation = column ? { file, line, column } : { file, line };
    seen.set(key, loc);
    out.push(loc);
  };
  for (const m of log.matchAll(COLON_REF)) {
    add(normalize(m[1]!), Number(m[2]), m[3] ? Number(m[3]) : undefined);
  }
  for (const m of log.matchAll(PY_FRAME)) add(normalize(m[1]!), Number(m[2]));
  return out;
}
