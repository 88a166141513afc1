import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { serve } from '@hono/node-server';
import { OpenAIChatClient } from '../agent/model/openai-client.js';
import type { ModelClient } from '../agent/types.js';
import { SandboxHost } from '../sandbox/local.js';
import { UsageError } from '../util/errors.js';
import type { ValidationSettings } from '../validate/report.js';
import { createApp } from './app.js';
import { ServeEnvironment } from './environment.js';
import { type EpisodeEndEvent, EpisodeManager } from './episodes.js';
import { AllowedRoots } from './paths.js';
import { RunSyncRoot } from './runs.js';
import type { ModelConfig } from './schemas.js';

export interface ServeOptions {
  /** Directories whose repositories clients may name (required, at least one). */
  repoRoots: string[];
  /** Directories whose artifact folders clients may name (default none: inline only). */
  artifactRoots?: string[];
  /**
   * Folder of `ssr selfplay --sync file` runs: enables POST /v1/runs/{run}/policy (the trainer's
   * policy file over HTTP) and GET /v1/runs/{run}/sync.
   */
  runRoot?: string;
  /** Default 8765; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Episodes at once (running or being created); more get 429 (default 64). */
  maxEpisodes?: number;
  /** Episodes nobody touches for this long are stopped and forgotten (default 15 min). */
  episodeTtlMs?: number;
  /** Prefix of episode ids (default <hostname>-<pid>). */
  replicaId?: string;
  /** Test runs at once, validation and grading (default: CPU cores). */
  testConcurrency?: number;
  /** Run without bubblewrap when it is missing (the user's explicit choice). */
  allowUnsandboxed?: boolean;
  validation?: Partial<ValidationSettings>;
  /** How managed mode reaches a model (default: OpenAIChatClient on the given endpoint). */
  modelClient?: (config: ModelConfig) => ModelClient;
  onEvent?: (e: EpisodeEndEvent) => void;
  /** Warnings and internal errors (default: stderr). */
  log?: (message: string) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8765 */
  url: string;
  port: number;
  replicaId: string;
  host: SandboxHost;
  stats(): {
    activeEpisodes: number;
    finishedEpisodes: number;
    liveSandboxes: number;
    startStates: number;
  };
  /** Stops accepting, stops every episode, disposes every sandbox. Idempotent. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function defaultModelClient(c: ModelConfig): ModelClient {
  return new OpenAIChatClient({ baseURL: c.baseURL, model: c.model, apiKey: c.apiKey });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`ssr serve: ${m}\n`));
  if (opts.repoRoots.length === 0) throw new UsageError('at least one repository root is needed');
  const replicaId = opts.replicaId ?? defaultReplicaId();
  if (!/^[A-Za-z0-9_.-]+$/.test(replicaId)) {
    throw new UsageError(`replica id may use letters, digits, _ . - only (got ${replicaId})`);
  }
  const hostName = opts.hostname ?? '127.0.0.1';
  if (!LOOPBACK.has(hostName)) {
    log(
      `warning: listening on ${hostName}, not loopback: whoever reaches this port can run ` +
        'commands in sandboxes over your repositories and make this server call any URL (the ' +
        'model baseURL of managed mode). Put it behind a trusted network or an authenticating proxy.',
    );
  }
  const repoRoots = AllowedRoots.open('repository', opts.repoRoots);
  const artifactRoots = AllowedRoots.open('artifact', opts.artifactRoots ?? []);
  const runs = opts.runRoot !== undefined ? RunSyncRoot.open(opts.runRoot) : undefined;
  const host = SandboxHost.open({ allowUnsandboxed: !!opts.allowUnsandboxed, warn: log });
  const env = new ServeEnvironment(host, repoRoots, artifactRoots, {
    testConcurrency: opts.testConcurrency,
    validation: opts.validation,
  });
  const manager = new EpisodeManager(env, {
    replicaId,
    maxEpisodes: opts.maxEpisodes ?? 64,
    episodeTtlMs: opts.episodeTtlMs ?? 15 * 60_000,
    modelClient: opts.modelClient ?? defaultModelClient,
    onEvent: opts.onEvent,
  });
  let closing: Promise<void> | null = null;
  const app = createApp({
    manager,
    liveSandboxes: () => host.liveSandboxes,
    isolation: host.mode.isolation,
    isClosing: () => closing !== null,
    log,
    runs,
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: opts.port ?? 8765, hostname: hostName }, () =>
        resolve(s as Server),
      ) as Server;
      s.once('error', reject);
    });
  } catch (err) {
    await manager.closeAll();
    await host.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot listen on ${hostName}:${opts.port ?? 8765}: ${code}`);
    }
    throw err;
  }
  // A managed rollout can take as long as its wall-time budget; Node's default would cut it.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const port = (server.address() as AddressInfo).port;
  const urlHost = hostName.includes(':') ? `[${hostName}]` : hostName;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    replicaId,
    host,
    stats: () => ({
      activeEpisodes: manager.active,
      finishedEpisodes: manager.finished,
      liveSandboxes: host.liveSandboxes,
      startStates: env.startStates,
    }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Stopping the episodes lets their pending /step, /run and /rollouts answer.
        await manager.closeAll();
        const cut = setTimeout(() => server.closeAllConnections(), 2000);
        await stopped;
        clearTimeout(cut);
        await host.close();
      })();
      return closing;
    },
  };
}
