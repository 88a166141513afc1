/**
 * bench/selfplay: what the self-play orchestration adds around the work it schedules.
 *
 * One self-play step on the example textkit repository (K = 4 injections, n = 4 solver
 * attempts, higher-order bugs on) with a scripted model that answers instantly over HTTP.
 * Every sandbox operation (exec of tools, test scripts and parsers, patching, diff, create,
 * fork, dispose) is timed, and their union on the time line is the baseline: the wall time
 * of the step divided by it is the orchestration overhead (scheduling, validation logic,
 * journal fsyncs, trajectory files, the model's HTTP round trips). Target <= 1.2x.
 *
 * Memory: the same step at concurrency 1 and 8; the growth of the ssr process's peak RSS,
 * divided by the extra episodes in flight, is the memory one concurrent episode costs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OpenAIChatClient } from '../src/agent/model/openai-client.js';
import { injectBugs } from '../src/inject/pipeline.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { DEFAULT_SELFPLAY, runSelfPlay } from '../src/selfplay/scheduler.js';
import { RunStore } from '../src/store/run-store.js';
import { startScriptedServer } from '../test/helpers/scripted-openai-server.js';
import { type KnownBug, selfPlayPolicy } from '../test/helpers/selfplay-policy.js';
import { emitSummary, isMain, ms, type SummaryRow, table, verdict } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPO = join(ROOT, 'examples/repos/textkit');

/** Wraps the sandbox's methods to record when each operation ran. */
function instrument(host: SandboxHost): { intervals: [number, number][] } {
  const intervals: [number, number][] = [];
  const probe = host.create(host.snapshotDir(REPO));
  const proto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  void probe.dispose();
  for (const name of [
    'exec',
    'applyPatch',
    'applyPatches',
    'diff',
    'fork',
    'snapshot',
    'dispose',
  ]) {
    const original = proto[name] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (typeof original !== 'function') continue;
    proto[name] = async function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        intervals.push([t0, performance.now()]);
      }
    };
  }
  const create = host.create.bind(host);
  host.create = (snapshot) => {
    const t0 = performance.now();
    try {
      return create(snapshot);
    } finally {
      intervals.push([t0, performance.now()]);
    }
  };
  return { intervals };
}

/** Length of the union of intervals (overlapping operations count once). */
function unionMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | null = null;
  for (const [a, b] of sorted) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

async function step(bugs: KnownBug[], concurrency: number, host: SandboxHost) {
  const policy = selfPlayPolicy(bugs);
  const server = await startScriptedServer(Array.from({ length: 5000 }, () => policy));
  const out = mkdtempSync(join(tmpdir(), 'ssr-bench-sp-'));
  const model = new OpenAIChatClient({ baseURL: server.baseURL, model: 'scripted-model' });
  let peak = process.memoryUsage().rss;
  const base = peak;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    await runSelfPlay({
      settings: {
        ...DEFAULT_SELFPLAY,
        repos: [REPO],
        steps: 1,
        injectionsPerStep: Math.max(concurrency, 4),
        solverAttempts: 4,
      },
      model,
      out,
      concurrency,
      host,
    });
    const wall = performance.now() - t0;
    const store = RunStore.open(out);
    const episodes = store.episodes().length;
    return { wall, episodes, peakMb: (peak - base) / 2 ** 20, t0 };
  } finally {
    clearInterval(sampler);
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const bugDir = mkdtempSync(join(tmpdir(), 'ssr-bench-sp-bugs-'));
  const summary = await injectBugs({ repo: REPO, out: bugDir, strategies: ['mutation'], count: 9 });
  const bugs = summary.artifacts.map((id) => ({
    dir: join(bugDir, id),
    file: /^\+\+\+ b\/(\S+)/m.exec(readFileSync(join(bugDir, id, 'bug_inject.diff'), 'utf8'))![1]!,
  }));
  const host = SandboxHost.open();
  const { intervals } = instrument(host);
  try {
    await step(bugs, 1, host); // warm-up: caches, launchers, JIT
    intervals.length = 0;
    const serial = await step(bugs, 1, host);
    const sandboxMs = unionMs(intervals.filter(([a]) => a >= serial.t0));
    const overhead = serial.wall / sandboxMs;

    intervals.length = 0;
    const wide = await step(bugs, 8, host);
    const one = await step(bugs, 1, host);
    const perEpisodeMb = Math.max(0, (wide.peakMb - one.peakMb) / 7);

    console.log('bench/selfplay: one self-play step (K=4, n=4, instant scripted model)');
    console.log(
      table([
        ['measurement', 'value'],
        ['episodes in the step', String(serial.episodes)],
        ['wall time (concurrency 1)', ms(serial.wall, 0)],
        ['sandbox + test-run time (union)', ms(sandboxMs, 0)],
        ['overhead ratio', `${overhead.toFixed(3)}x`],
        ['wall time (concurrency 8, K=8)', ms(wide.wall, 0)],
        [
          'peak RSS growth, concurrency 1 / 8',
          `${one.peakMb.toFixed(0)} / ${wide.peakMb.toFixed(0)} MB`,
        ],
        ['memory per concurrent episode (ssr process)', `${perEpisodeMb.toFixed(1)} MB`],
      ]),
    );
    console.log(`target: <= 1.2x -> ${verdict(overhead <= 1.2)}`);
    const rows: SummaryRow[] = [
      {
        bench: 'selfplay',
        metric: 'step wall / sandbox+test time',
        value: ms(serial.wall, 0),
        baseline: `sandbox ${ms(sandboxMs, 0)}`,
        ratio: `${overhead.toFixed(2)}x`,
        target: '<= 1.2x',
        met: overhead <= 1.2,
      },
      {
        bench: 'selfplay',
        metric: 'memory per concurrent episode',
        value: `${perEpisodeMb.toFixed(1)} MB`,
        baseline: '',
        ratio: '',
        target: '',
        met: null,
      },
    ];
    emitSummary(rows);
  } finally {
    await host.close();
    rmSync(bugDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main();
