/**
 * Line coverage of a repository's test suite, so the injectors can aim at code the tests run
 * (DESIGN.md, "Pay only for covering tests"): a bug in code no test executes is never found.
 *
 * The artifact's test_script.sh runs once in a sandbox with extra environment:
 * - NODE_V8_COVERAGE: every Node.js process writes V8 block coverage at exit (byte ranges
 *   with execution counts per script, innermost range wins). Offsets map to lines through the
 *   file's source, or through Node's source-map cache for transpiled code (tsx, ts-node).
 * - PYTHONPATH with a sitecustomize.py: every Python process records the lines it executes in
 *   files under the repository (sys.monitoring on 3.12+, sys.settrace before) and writes them
 *   at exit. Any sitecustomize the environment had is still run after ours.
 * Both write into the sandbox's private temporary directory, never into the repository.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { shellQuote } from '../sandbox/local.js';
import type { Sandbox } from '../sandbox/types.js';
import { isJavaScriptLike, languageOf } from './ast.js';

export interface CoverageOptions {
  /** Limit for the test run (default 300 s); what finished before it still counts. */
  timeoutMs?: number;
  /** Largest amount of coverage data read back (default 256 MiB). */
  maxDataBytes?: number;
}

export interface Coverage {
  /**
   * Whether the tests executed this line (repo-relative file, 1-based line). Strict: false for
   * files no test loaded. True for every line of an `unmapped` file.
   */
  covered(file: string, line: number): boolean;
  /** Repo-relative files with line data, sorted. */
  files(): string[];
  /** Covered lines of a file, sorted. */
  lines(file: string): number[];
  /**
   * Files Node loaded whose coverage offsets could not be mapped to source lines (transformed
   * code without a source map): treated as fully covered so they are not lost.
   */
  unmapped: string[];
  /** How many processes reported coverage. */
  processes: { node: number; python: number };
  run: { exitCode: number | null; timedOut: boolean; durationMs: number };
}

// ---------------------------------------------------------------------------------------------
// Python: sitecustomize.py

export const PYTHON_SITECUSTOMIZE = `# ssr line coverage: records which lines under SSR_COV_ROOT run, written at exit.
import os
import sys


def _ssr_cov_install():
    root = os.environ.get("SSR_COV_ROOT")
    out_dir = os.environ.get("SSR_COV_PY_DIR")
    if not root or not out_dir:
        return
    root = os.path.realpath(root).rstrip(os.sep) + os.sep
    by_file = {}
    decided = {}

    def lines_of(filename):
        s = decided.get(filename, 0)
        if s == 0:
            path = filename if os.path.isabs(filename) else os.path.abspath(filename)
            keep = (
                path.startswith(root)
                and "/site-packages/" not in path
                and "/node_modules/" not in path
                and path.endswith(".py")
            )
            s = by_file.setdefault(path, set()) if keep else None
            decided[filename] = s
        return s

    def dump():
        try:
            os.makedirs(out_dir, exist_ok=True)
            name = os.path.join(out_dir, "%d-%d.txt" % (os.getpid(), id(by_file)))
            with open(name + ".part", "w", encoding="utf-8", errors="surrogateescape") as f:
                for path, lines in by_file.items():
                    if lines and "\\t" not in path and "\\n" not in path:
                        f.write("%s\\t%s\\n" % (path, ",".join(str(n) for n in sorted(lines))))
            os.replace(name + ".part", name)
        except Exception:
            pass

    import atexit

    atexit.register(dump)

    mon = getattr(sys, "monitoring", None)
    if mon is not None:
        for tool in (mon.COVERAGE_ID, 4, 5):
            try:
                mon.use_tool_id(tool, "ssr-coverage")
            except ValueError:
                continue
            disable = mon.DISABLE

            def on_line(code, line):
                s = lines_of(code.co_filename)
                if s is not None:
                    s.add(line)
                return disable

            mon.register_callback(tool, mon.events.LINE, on_line)
            mon.set_events(tool, mon.events.LINE)
            return

    import threading

    def global_trace(frame, event, arg):
        s = lines_of(frame.f_code.co_filename)
        if s is None:
            return None
        add = s.add

        def local_trace(frame, event, arg):
            if event == "line":
                add(frame.f_lineno)
            return local_trace

        return local_trace

    sys.settrace(global_trace)
    threading.settrace(global_trace)


def _ssr_cov_chain():
    # Run the sitecustomize this one shadows (Debian ships one), as if it were first.
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.realpath(__file__))
    path = [p for p in sys.path if os.path.realpath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    _ssr_cov_install()
except Exception:
    pass
try:
    _ssr_cov_chain()
except Exception:
    pass
`;

// ---------------------------------------------------------------------------------------------
// Node: V8 coverage, filtered inside the sandbox to the repository's own scripts

/**
 * Prints "@@ssr-cov v8 <label>" and one line of JSON per coverage file, keeping only scripts under
 * the repo (not node_modules) and their source maps. Plain ES5 for whatever Node the
 * sandbox has.
 */
const V8_FILTER = `var fs=require('fs'),path=require('path');var dir=process.argv[1],prefix=process.argv[2],label=process.argv[3]||'0';
var names=[];try{names=fs.readdirSync(dir).sort()}catch(e){}
names.forEach(function(n){if(!/\\.json$/.test(n))return;var d;try{d=JSON.parse(fs.readFileSync(path.join(dir,n),'utf8'))}catch(e){return}
var keep=(d.result||[]).filter(function(s){return typeof s.url==='string'&&s.url.indexOf(prefix)===0&&s.url.indexOf('/node_modules/')<0});
var smc=d['source-map-cache']||{},maps={};keep.forEach(function(s){if(smc[s.url])maps[s.url]=smc[s.url]});
process.stdout.write('@@ssr-cov v8 '+label+'\\n'+JSON.stringify({result:keep,'source-map-cache':maps})+'\\n')});`;

interface V8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface V8Script {
  url: string;
  functions: { functionName: string; ranges: V8Range[] }[];
}
interface V8SourceMapEntry {
  lineLengths?: number[];
  url?: string | null;
  data?: { sources?: string[]; sourceRoot?: string; mappings?: string; sections?: unknown };
}
interface V8Dump {
  result?: V8Script[];
  'source-map-cache'?: Record<string, V8SourceMapEntry>;
}

/**
 * Per-offset coverage of one script: 1 where the innermost range around the offset ran.
 * Ranges nest (functions in functions, blocks in functions); painting outer ranges first and
 * inner ones over them leaves each offset with its innermost count.
 */
function paint(script: V8Script, length: number): Uint8Array {
  const ranges = script.functions.flatMap((f) => f.ranges);
  ranges.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  const out = new Uint8Array(length);
  for (const r of ranges) {
    out.fill(r.count > 0 ? 1 : 0, Math.max(0, r.startOffset), Math.min(length, r.endOffset));
  }
  return out;
}

/** The script length V8 saw: the end of the top-level range. */
function scriptLength(script: V8Script): number {
  let len = 0;
  for (const f of script.functions)
    for (const r of f.ranges) if (r.startOffset === 0) len = Math.max(len, r.endOffset);
  return len;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

/** Decodes source map "mappings" into [genLine, genCol, source, origLine] segments (0-based). */
export function decodeMappings(mappings: string): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  let genLine = 0;
  let source = 0;
  let origLine = 0;
  let origCol = 0;
  let nameIdx = 0;
  for (const line of mappings.split(';')) {
    let genCol = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = BASE64_VALUE.get(ch);
        if (digit === undefined) return out; // corrupt: keep what was decoded
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      genCol += values[0] ?? 0;
      if (values.length >= 4) {
        source += values[1]!;
        origLine += values[2]!;
        origCol += values[3]!;
        if (values.length >= 5) nameIdx += values[4]!;
        out.push([genLine, genCol, source, origLine]);
      }
    }
    genLine++;
  }
  void origCol;
  void nameIdx;
  return out;
}

// ---------------------------------------------------------------------------------------------

class LineSets {
  readonly byFile = new Map<string, Set<number>>();
  readonly unmapped = new Set<string>();
  add(file: string, line: number): void {
    this.touch(file).add(line);
  }
  touch(file: string): Set<number> {
    let s = this.byFile.get(file);
    if (!s) {
      s = new Set();
      this.byFile.set(file, s);
    }
    return s;
  }
}

/** Shell: $d is the sandbox's private temporary directory (/tmp under bubblewrap) + /ssr-cov. */
const TMP_DIR = 'd="$TMPDIR"; [ -n "$d" ] || d=/tmp; d="$d/ssr-cov"';

/** Runs test_script.sh once in `sandbox` and returns which lines of the repo it executed. */
export async function collectCoverage(
  sandbox: Sandbox,
  testScriptHostPath: string,
  opts: CoverageOptions = {},
): Promise<Coverage> {
  const script = readFileSync(testScriptHostPath, 'utf8');
  const [only] = await coverageRuns(sandbox, [script], opts);
  return makeCoverage(only!.sets, only!.processes, only!.run);
}

/** What one test file's own run executed: repo-relative source file -> covered lines. */
export type TestFileCoverage = Map<string, number[]>;

export interface PerTestFileCoverage {
  /** Each test file's run: source file -> lines (absent: the run reported nothing). */
  byTestFile: Map<string, TestFileCoverage>;
  /** How long each test file's run took (with coverage on), ms. */
  durations: Map<string, number>;
  /** How many processes reported coverage, over all the runs. */
  processes: Coverage['processes'];
}

/**
 * Which lines each test file executes: the focused test_script.sh of each file (`scripts`:
 * test file -> the script's text) runs on its own, one after the other in one sandbox,
 * each with its own coverage directories. The basis of covering-test selection (a candidate
 * is tried on the files that execute its lines), DESIGN.md "Pay only for covering tests".
 * The whole suite's view is their union (coverageFromTestFiles).
 */
export async function collectCoverageByTestFile(
  sandbox: Sandbox,
  scripts: Map<string, string>,
  opts: CoverageOptions = {},
): Promise<PerTestFileCoverage> {
  const files = [...scripts.keys()];
  if (files.length === 0) throw new Error('no test file to measure');
  const runs = await coverageRuns(sandbox, [...scripts.values()], opts);
  const byTestFile = new Map<string, TestFileCoverage>();
  const durations = new Map<string, number>();
  const processes = { node: 0, python: 0 };
  runs.forEach((r, i) => {
    const lines = new Map<string, number[]>();
    for (const [file, set] of r.sets.byFile) {
      if (set.size)
        lines.set(
          file,
          [...set].sort((a, b) => a - b),
        );
    }
    // Unmapped files count as wholly executed (as in `covered`): line 0 stands for "all".
    for (const file of r.sets.unmapped) lines.set(file, [0]);
    byTestFile.set(files[i]!, lines);
    durations.set(files[i]!, Math.round(r.run.durationMs));
    processes.node += r.processes.node;
    processes.python += r.processes.python;
  });
  return { byTestFile, durations, processes };
}

/**
 * The whole-suite view of per-test-file coverage: the union of the files' lines (line 0: a
 * file executed whole, see collectCoverageByTestFile).
 */
export function coverageFromTestFiles(
  byTestFile: ReadonlyMap<string, TestFileCoverage>,
  processes: Coverage['processes'],
  run: Coverage['run'] = { exitCode: 0, timedOut: false, durationMs: 0 },
): Coverage {
  const sets = new LineSets();
  for (const cov of byTestFile.values()) {
    for (const [file, lines] of cov) {
      const set = sets.touch(file);
      for (const l of lines) {
        if (l === 0) sets.unmapped.add(file);
        else set.add(l);
      }
    }
  }
  return makeCoverage(sets, processes, run);
}

interface CoverageRun {
  sets: LineSets;
  processes: Coverage['processes'];
  run: Coverage['run'];
}

/**
 * Runs each script in turn in `sandbox` with coverage switched on, each into directories of
 * its own, and reads back what each executed.
 */
async function coverageRuns(
  sandbox: Sandbox,
  scripts: string[],
  opts: CoverageOptions,
): Promise<CoverageRun[]> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const maxDataBytes = opts.maxDataBytes ?? 256 * 1024 * 1024;
  const work = mkdtempSync(join(tmpdir(), 'ssr-cov-'));
  try {
    const sitePath = join(work, 'sitecustomize.py');
    writeFileSync(sitePath, PYTHON_SITECUSTOMIZE, { mode: 0o444 });
    const site = sandbox.exposeFile(sitePath, 'ssr_cov_sitecustomize.py');
    // The scripts go in one folder, shown to the sandbox once.
    const scriptDir = join(work, 'scripts');
    mkdirSync(scriptDir);
    for (const [i, text] of scripts.entries()) {
      writeFileSync(join(scriptDir, `${i}.sh`), text, { mode: 0o444 });
    }
    const inside = sandbox.exposeFile(scriptDir, 'ssr_cov_scripts');
    const root = sandbox.repoPath;
    const setup = [
      TMP_DIR,
      'rm -rf "$d" && mkdir -p "$d/v8" "$d/py" "$d/site"',
      `cp ${shellQuote(site)} "$d/site/sitecustomize.py"`,
      `export SSR_COV_ROOT=${shellQuote(root)}`,
      'if [ -n "$PYTHONPATH" ]; then export PYTHONPATH="$d/site:$PYTHONPATH"; else export PYTHONPATH="$d/site"; fi',
    ].join('\n');
    const runs: CoverageRun[] = [];
    // One command per script, so each gets the whole time limit and its own duration.
    for (let i = 0; i < scripts.length; i++) {
      const script = posix.join(inside, `${i}.sh`);
      const run = await sandbox.exec(
        [
          i === 0
            ? setup
            : `${TMP_DIR}\nexport SSR_COV_ROOT=${shellQuote(root)}\nexport PYTHONPATH="$d/site\${PYTHONPATH:+:$PYTHONPATH}"`,
          `mkdir -p "$d/v8/${i}" "$d/py/${i}"`,
          `export NODE_V8_COVERAGE="$d/v8/${i}" SSR_COV_PY_DIR="$d/py/${i}"`,
          `bash ${shellQuote(script)} >/dev/null 2>&1`,
        ].join('\n'),
        { timeoutMs, maxOutputBytes: 64 * 1024 },
      );
      runs.push({
        sets: new LineSets(),
        processes: { node: 0, python: 0 },
        run: { exitCode: run.exitCode, timedOut: run.timedOut, durationMs: run.durationMs },
      });
    }

    const dataPath = join(work, 'data.txt');
    const prefix = `${pathToFileURL(root).href.replace(/\/$/, '')}/`;
    const dump = [
      TMP_DIR,
      `for i in $(ls "$d/v8" 2>/dev/null); do`,
      `  if ! { command -v node >/dev/null 2>&1 && node -e ${shellQuote(V8_FILTER)} "$d/v8/$i" ${shellQuote(prefix)} "$i"; }; then`,
      '    for f in "$d/v8/$i"/*.json; do [ -f "$f" ] && { printf "@@ssr-cov v8 %s\\n" "$i"; cat "$f"; printf "\\n"; }; done',
      '  fi',
      'done',
      'for i in $(ls "$d/py" 2>/dev/null); do',
      '  for f in "$d/py/$i"/*.txt; do [ -f "$f" ] && { printf "@@ssr-cov py %s\\n" "$i"; cat "$f"; }; done',
      'done',
      'rm -rf "$d"',
    ].join('\n');
    const dumped = await sandbox.exec(dump, {
      timeoutMs: 120_000,
      stdoutFile: dataPath,
      maxFileBytes: maxDataBytes,
    });
    if (dumped.stdoutBytes > maxDataBytes) {
      throw new Error(
        `coverage data is ${dumped.stdoutBytes} bytes, over the ${maxDataBytes}-byte limit`,
      );
    }
    await readSections(readFileSync(dataPath, 'utf8'), sandbox, runs);
    return runs;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Reads the dumped coverage sections into the run each is labelled with. */
async function readSections(data: string, sandbox: Sandbox, runs: CoverageRun[]): Promise<void> {
  const root = sandbox.repoPath;
  const sources = new Map<string, Promise<string | null>>();
  const readSource = (rel: string) => {
    let p = sources.get(rel);
    if (!p) {
      p = sandbox.readFile(rel).then(
        (b) => (b ? b.toString('utf8') : null),
        () => null,
      );
      sources.set(rel, p);
    }
    return p;
  };
  const relOf = (absPath: string): string | null => {
    const rel = posix.relative(root, absPath);
    if (!rel || rel.startsWith('../') || rel === '..' || posix.isAbsolute(rel)) return null;
    if (rel.split('/').includes('node_modules')) return null;
    return rel;
  };
  const relOfUrl = (url: string): string | null => {
    if (!url.startsWith('file:')) return null;
    try {
      return relOf(fileURLToPath(url));
    } catch {
      return null;
    }
  };

  for (const section of splitSections(data)) {
    const run = runs[section.label];
    if (!run) continue;
    const { sets, processes } = run;
    if (section.kind === 'py') {
      processes.python++;
      for (const line of section.body.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab < 0) continue;
        const rel = relOf(line.slice(0, tab));
        if (!rel) continue;
        const set = sets.touch(rel);
        for (const n of line.slice(tab + 1).split(',')) {
          const v = Number(n);
          if (Number.isInteger(v) && v > 0) set.add(v);
        }
      }
      continue;
    }
    let dumpJson: V8Dump;
    try {
      dumpJson = JSON.parse(section.body) as V8Dump;
    } catch {
      continue; // a process killed while writing
    }
    processes.node++;
    const maps = dumpJson['source-map-cache'] ?? {};
    for (const script of dumpJson.result ?? []) {
      const rel = relOfUrl(script.url);
      if (!rel || !Array.isArray(script.functions)) continue;
      const map = maps[script.url];
      if (map?.data?.mappings && map.lineLengths) {
        mapThroughSourceMap(script, map, relOfUrl, sets);
        continue;
      }
      const source = await readSource(rel);
      if (source === null) continue;
      const length = scriptLength(script);
      // Node's CommonJS loader strips a byte order mark before compiling.
      const shift =
        length === source.length
          ? 0
          : source.charCodeAt(0) === 0xfeff && length === source.length - 1
            ? 1
            : -1;
      if (shift < 0) {
        sets.unmapped.add(rel);
        sets.touch(rel);
        continue;
      }
      const painted = paint(script, length);
      const set = sets.touch(rel);
      let line = 1;
      for (let i = shift; i < source.length; i++) {
        const ch = source.charCodeAt(i);
        if (ch === 10) line++;
        else if (ch > 32 && painted[i - shift] === 1) set.add(line);
      }
    }
  }
}

function* splitSections(
  data: string,
): Generator<{ kind: 'v8' | 'py'; label: number; body: string }> {
  const re = /^@@ssr-cov (v8|py)(?: (\d+))?$/gm;
  let m = re.exec(data);
  while (m) {
    const kind = m[1] as 'v8' | 'py';
    const label = Number(m[2] ?? 0);
    const start = m.index + m[0].length + 1;
    const next = re.exec(data);
    yield { kind, label, body: data.slice(start, next ? next.index : data.length) };
    m = next;
  }
}

function mapThroughSourceMap(
  script: V8Script,
  map: V8SourceMapEntry,
  relOfUrl: (url: string) => string | null,
  sets: LineSets,
): void {
  const data = map.data!;
  const lineLengths = map.lineLengths!;
  const lineStarts: number[] = [];
  let total = 0;
  for (const len of lineLengths) {
    lineStarts.push(total);
    total += len + 1;
  }
  const painted = paint(script, Math.max(total, scriptLength(script)));
  const base = map.url ?? script.url;
  const sourceRels = (data.sources ?? []).map((s) => {
    try {
      const root = data.sourceRoot ? new URL(data.sourceRoot.replace(/\/?$/, '/'), base) : base;
      return relOfUrl(new URL(s, root).href);
    } catch {
      return null;
    }
  });
  for (const [genLine, genCol, src, origLine] of decodeMappings(data.mappings!)) {
    const rel = sourceRels[src];
    const start = lineStarts[genLine];
    if (!rel || start === undefined) continue;
    const set = sets.touch(rel);
    if (painted[start + genCol] === 1) set.add(origLine + 1);
  }
}

function makeCoverage(
  sets: LineSets,
  processes: Coverage['processes'],
  run: Coverage['run'],
): Coverage {
  const unmapped = [...sets.unmapped].sort();
  const unmappedSet = new Set(unmapped);
  return {
    covered: (file, line) => unmappedSet.has(file) || (sets.byFile.get(file)?.has(line) ?? false),
    files: () => [...sets.byFile.keys()].sort(),
    lines: (file) => [...(sets.byFile.get(file) ?? [])].sort((a, b) => a - b),
    unmapped,
    processes,
    run,
  };
}

/**
 * A `covered` option for the generators that does not trust silence: for a file whose
 * language no process reported on (the script ran no Node, or reset PYTHONPATH so the tracer
 * never loaded), every line counts as covered instead of none. Otherwise `cov.covered`.
 */
export function targetFilter(cov: Coverage): (file: string, line: number) => boolean {
  return (file, line) => {
    const lang = languageOf(file);
    // Go, Rust, Java, C, C++ and Ruby have no line coverage here: every line is a target.
    if (lang !== null && lang !== 'python' && !isJavaScriptLike(lang)) return true;
    if (lang === 'python' ? cov.processes.python === 0 : cov.processes.node === 0) return true;
    return cov.covered(file, line);
  };
}
