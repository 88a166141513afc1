import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type Artifact, readArtifact } from '../artifact/artifact.js';
import { discoverTests } from '../discovery/discover.js';
import type { TestSuiteSpec } from '../discovery/types.js';
import { tasksFromHistory } from '../eval/from-history.js';
import {
  type AttemptRecord,
  evaluateArtifacts,
  evaluateTasks,
  type HeldOutArtifact,
  type SetSummary,
  summarize,
} from '../eval/run.js';
import { type EvalTask, loadTasks } from '../eval/tasks.js';
import { SandboxHost } from '../sandbox/local.js';
import { UsageError } from '../util/errors.js';
import { modelFromFlags } from './model.js';
import { Progress } from './progress.js';
import { addTestOptions, hasTestFlags, testOptionsFromFlags } from './test-options.js';

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

/** The held-out artifacts of `dir`: the folder itself if it is one, else its subfolders. */
function loadArtifacts(dir: string, repo: string | undefined): HeldOutArtifact[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--artifacts: not a directory: ${dir}`);
  const dirs = existsSync(join(dir, 'test_script.sh'))
    ? [dir]
    : readdirSync(dir)
        .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory())
        .sort()
        .map((n) => join(dir, n));
  if (!dirs.length) throw new UsageError(`--artifacts: no artifact folders in ${dir}`);
  return dirs.map((d) => {
    const artifact: Artifact = readArtifact(d);
    const named = repo ?? artifact.metadata.repo;
    if (!named) {
      throw new UsageError(
        `artifact ${artifact.metadata.id} names no repository (metadata.repo): pass --repo`,
      );
    }
    // metadata.repo is usually relative to where the artifacts were made: try the working
    // directory, then the artifact's own folder.
    const repoDir = [resolve(named), resolve(d, named)].find(
      (p) => existsSync(p) && statSync(p).isDirectory(),
    );
    if (!repoDir) {
      throw new UsageError(
        `repository of artifact ${artifact.metadata.id} not found: ${named}${repo ? '' : ' (metadata.repo; pass --repo)'}`,
      );
    }
    return { artifact, repoDir };
  });
}

function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`);
  renameSync(tmp, path);
}

/** The journal: one file per (set, task, attempt), written when the attempt is done. */
function attemptPath(out: string, r: Pick<AttemptRecord, 'kind' | 'id' | 'attempt'>): string {
  const set = r.kind === 'task' ? 'tasks' : 'artifacts';
  return join(out, 'trajectories', set, r.id, `attempt-${r.attempt}.json`);
}

function readPrevious(out: string, kind: AttemptRecord['kind']) {
  return (id: string, attempt: number): AttemptRecord | null => {
    const p = attemptPath(out, { kind, id, attempt });
    if (!existsSync(p)) return null;
    try {
      const rec = JSON.parse(readFileSync(p, 'utf8')) as AttemptRecord;
      // Attempts that never ran (environment errors) are retried on resume.
      return rec.error ? null : rec;
    } catch {
      return null;
    }
  };
}

function modelName(description: string, flag?: string): string {
  return flag ?? /model=(\S+)/.exec(description)?.[1] ?? description;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function formatSet(title: string, s: SetSummary, records: AttemptRecord[]): string {
  const lines = [`${title}: ${s.tasks} task(s), ${s.attemptsPerTask} attempt(s) each`];
  for (const t of s.perTask) {
    const mark = t.attempts === 0 ? 'ERR ' : t.resolved > 0 ? 'PASS' : 'FAIL';
    const first =
      records.find((r) => r.id === t.id && !r.resolved && !r.error) ??
      records.find((r) => r.id === t.id && r.error);
    const why = !first || (t.attempts > 0 && t.resolved === t.attempts) ? '' : `: ${first.reason}`;
    const errs = t.errors ? ` (${t.errors} not graded: error)` : '';
    lines.push(`  ${mark} ${t.id}  ${t.resolved}/${t.attempts} resolved${errs}${why}`);
  }
  const k = s.attemptsPerTask;
  lines.push(
    `  resolve rate ${pct(s.resolveRate)} (mean over graded attempts)` +
      (k > 1 ? `, pass@${k} ${pct(s.passAtK)}` : '') +
      (s.errors ? `; ${s.errors} attempt(s) ended on an error, redone by --resume` : ''),
  );
  return lines.join('\n');
}

/** report.json's view of an attempt: everything but the trajectory (kept in its own file). */
function slim(r: AttemptRecord) {
  const { trajectory: _t, ...rest } = r;
  return { ...rest, trajectory: attemptPath('', r).slice(1) };
}

export function registerEval(program: Command, setHost: (h: SandboxHost | null) => void): void {
  const evalCommand = program
    .command('eval')
    .summary('evaluate a model on SWE-bench-format tasks and held-out artifacts')
    .description(
      'Run solver attempts on SWE-bench-format tasks (JSONL) and/or held-out self-play ' +
        'artifacts, with a model served over the OpenAI chat-completions API. A task is ' +
        'resolved iff every FAIL_TO_PASS and PASS_TO_PASS test passes after the model patch ' +
        'and test_patch are applied. Prints the resolve rate (and pass@k); writes report.json, ' +
        'predictions.jsonl (the first attempt per task) and trajectories to --out. Exit status: ' +
        '0 done, 2 usage error (bad task file, missing environment, unreachable server).',
    )
    .argument('[tasks.jsonl]', 'SWE-bench-format task instances, one JSON object a line')
    .requiredOption(
      '--model <url-or-gguf>',
      'OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1) or a local .gguf file',
    )
    .option('--model-name <name>', 'model to request (default: the first the server lists)')
    .option('--api-key-env <var>', 'environment variable holding the API key (default: none)')
    .option('--threads <n>', 'embedded .gguf model: CPU threads', positive('--threads'))
    .option('--image-dir <dir>', 'images of tasks without repo_dir/image: <dir>/<instance_id>')
    .option('--artifacts <dir>', 'also evaluate on held-out self-play artifacts (<dir>/<id>/)')
    .option('--repo <dir>', 'the original repository of the artifacts (default: metadata.repo)')
    .option('--attempts <k>', 'attempts per task (pass@k)', positive('--attempts'), 1)
    .option('--max-turns <n>', 'model turns per attempt', positive('--max-turns'), 128)
    .option('--temperature <t>', 'sampling temperature', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError('--temperature must be >= 0');
      return n;
    })
    .option('--concurrency <c>', 'attempts run at once', positive('--concurrency'), 1)
    .option('--stream', 'stream model responses')
    .option('--text-tool-calls', 'for models without native tool calling')
    .option('--out <dir>', 'where results go (default: ssr-eval/<tasks-name>)')
    .option('--resume', 'reuse attempts already finished in --out (the per-attempt journal)')
    .option('--json', 'print the report as one JSON object on stdout')
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run model commands directly on this machine',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  ssr eval tasks.jsonl --model http://127.0.0.1:8000/v1 --attempts 4\n' +
        '  ssr eval --artifacts examples/artifacts --repo examples/repos/textkit --model http://127.0.0.1:8000/v1\n',
    )
    .action(async (tasksFile: string | undefined, o) => {
      if (!tasksFile && !o.artifacts)
        throw new UsageError('give a tasks.jsonl file, --artifacts <dir>, or both');
      // Only tasks without test_script/test_parser are discovered; artifacts bring their own.
      const discovery = testOptionsFromFlags(o);
      if (hasTestFlags(o) && !tasksFile)
        throw new UsageError(
          '--test-command, --test-format, --test-files and --max-flaky-share are for tasks without test_script; artifacts bring their own',
        );
      if (o.imageDir && !existsSync(o.imageDir))
        throw new UsageError(`--image-dir: not found: ${o.imageDir}`);
      const tasks: EvalTask[] = tasksFile ? loadTasks(tasksFile, { imageDir: o.imageDir }) : [];
      const artifacts = o.artifacts ? loadArtifacts(o.artifacts, o.repo) : [];
      const model = await modelFromFlags(o);
      const name = modelName(model.description, o.modelName);
      const out = resolve(
        o.out ??
          join('ssr-eval', tasksFile ? basename(tasksFile).replace(/\.jsonl?$/, '') : 'artifacts'),
      );
      mkdirSync(out, { recursive: true });
      const progress = new Progress();
      const host = SandboxHost.open({ allowUnsandboxed: !!o.unsafeNoSandbox });
      setHost(host);
      try {
        const total = (tasks.length + artifacts.length) * o.attempts;
        let done = 0;
        const common = {
          host,
          model,
          attempts: o.attempts,
          budget: { maxTurns: o.maxTurns },
          temperature: o.temperature,
          concurrency: o.concurrency,
          onAttempt: (r: AttemptRecord) => {
            writeJsonAtomic(attemptPath(out, r), r);
            done++;
            progress.line(
              `[${done}/${total}] ${r.id} attempt ${r.attempt}: ${r.resolved ? 'resolved' : 'not resolved'}` +
                (r.endReason ? ` (${r.turns} turn(s), ended: ${r.endReason})` : '') +
                (r.resolved ? '' : `; ${r.reason}`),
            );
          },
        };
        progress.line(
          `… ${tasks.length} task(s), ${artifacts.length} artifact(s), ${o.attempts} attempt(s) each, with ${model.description}`,
        );
        const taskRecords = tasks.length
          ? await evaluateTasks(tasks, {
              ...common,
              discovery,
              previous: o.resume ? readPrevious(out, 'task') : undefined,
            })
          : [];
        const artifactRecords = artifacts.length
          ? await evaluateArtifacts(artifacts, {
              ...common,
              previous: o.resume ? readPrevious(out, 'artifact') : undefined,
            })
          : [];
        const taskSummary = tasks.length ? summarize(taskRecords, o.attempts) : null;
        const artifactSummary = artifacts.length ? summarize(artifactRecords, o.attempts) : null;
        // One prediction per task, as SWE-bench's harness expects: the first attempt's patch.
        const predictions = tasks.map((t) => ({
          instance_id: t.instance_id,
          model_name_or_path: name,
          model_patch:
            taskRecords.find((r) => r.id === t.instance_id && r.attempt === 1)?.patch ?? '',
        }));
        writeFileSync(
          join(out, 'predictions.jsonl'),
          predictions.map((p) => `${JSON.stringify(p)}\n`).join(''),
        );
        const report = {
          model: model.description,
          modelName: name,
          tasksFile: tasksFile ? resolve(tasksFile) : null,
          artifactsDir: o.artifacts ? resolve(o.artifacts) : null,
          attempts: o.attempts,
          tasks: taskSummary,
          artifacts: artifactSummary,
          records: [...taskRecords, ...artifactRecords].map(slim),
          out,
        };
        writeJsonAtomic(join(out, 'report.json'), report);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
        } else {
          const parts: string[] = [];
          if (taskSummary) parts.push(formatSet('tasks', taskSummary, taskRecords));
          if (artifactSummary)
            parts.push(formatSet('held-out artifacts', artifactSummary, artifactRecords));
          process.stdout.write(`${parts.join('\n')}\nresults: ${out}\n`);
        }
        // As `ssr solve`: attempts lost to errors (model unreachable, sandbox failures) make
        // the figures partial, which a script must notice.
        if ((taskSummary?.errors ?? 0) + (artifactSummary?.errors ?? 0) > 0) process.exitCode = 4;
      } finally {
        await host.close();
        setHost(null);
      }
    });

  addTestOptions(evalCommand);

  const fromHistory = program
    .command('tasks-from-history')
    .summary('mine SWE-bench-format tasks from a repository’s git history')
    .description(
      'Walk the git log of a repository (read in a sandbox) and turn each commit that changes ' +
        'source and tests together into a task: base = its parent, test_patch = its test ' +
        'changes, gold patch = the rest, problem_statement = the commit message. FAIL_TO_PASS ' +
        '(fail at base + test_patch, pass with the gold patch) and PASS_TO_PASS come from ' +
        'running the tests with the discovered harness. Exit status: 0 tasks written, 1 no ' +
        'task found, 2 usage error.',
    )
    .argument('<repo>', 'a git checkout (never modified)')
    .option('--out <file>', 'write the JSONL here (default: stdout)')
    .option('--max <n>', 'stop after this many tasks', positive('--max'))
    .option('--max-commits <n>', 'commits read from the log', positive('--max-commits'), 200)
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run repository commands directly on this machine',
    )
    .action(async (repo: string, o) => {
      const progress = new Progress();
      const testOptions = testOptionsFromFlags(o);
      const host = SandboxHost.open({ allowUnsandboxed: !!o.unsafeNoSandbox });
      setHost(host);
      try {
        // With the escape hatches, the harness is discovered here (with them) and handed over.
        let suite: TestSuiteSpec | undefined;
        if (hasTestFlags(o)) {
          progress.line('… discovering how the tests run');
          suite = (await discoverTests(host, host.snapshotDir(repo), testOptions)).suite;
        }
        const result = await tasksFromHistory(host, repo, {
          max: o.max,
          maxCommits: o.maxCommits,
          suite,
          onProgress: (m) => progress.line(`… ${m}`),
        });
        const jsonl = result.tasks.map((t) => `${JSON.stringify(t)}\n`).join('');
        if (o.out) {
          mkdirSync(dirname(resolve(o.out)), { recursive: true });
          writeFileSync(o.out, jsonl);
          process.stdout.write(
            `${result.tasks.length} task(s) written to ${o.out} (${result.skipped.length} commit(s) skipped; harness: ${result.harness})\n`,
          );
        } else {
          process.stdout.write(jsonl);
        }
        if (!result.tasks.length) {
          process.stderr.write('ssr: no task found in the history\n');
          process.exitCode = 1;
        }
      } finally {
        await host.close();
        setHost(null);
      }
    });
  addTestOptions(fromHistory);
}
