import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { UsageError } from '../util/errors.js';
import {
  type ArtifactQuery,
  artifactDetail,
  closeSource,
  type DashboardSource,
  episodeDetail,
  type InjectionQuery,
  isSafeId,
  listArtifacts,
  listInjections,
  openSource,
  refreshSource,
  stepSeries,
  summary,
} from './data.js';
import { dashboardPage } from './page.js';

export interface DashboardOptions {
  /** A self-play run directory or an `ssr inject` output folder. */
  dir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Loopback by default: the page shows model outputs and repository code. */
  host?: string;
  /** Where the warning about a non-loopback address goes (default: stderr). */
  warn?: (message: string) => void;
}

export interface Dashboard {
  url: string;
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * A live run is appended to by another process. A refresh reads only what was appended (a
 * stat when nothing was), and the page polls every 3 s; this bounds it under many clients.
 */
const REFRESH_MS = 1000;

const direction = (v: string | undefined) =>
  v === 'desc' ? 'desc' : v === 'asc' ? 'asc' : undefined;

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The Host header's name without its port (`[::1]:80` -> `[::1]`). */
function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
}

export function createDashboardApp(
  src: DashboardSource,
  opts: { loopbackOnly?: boolean } = {},
): Hono {
  const app = new Hono();
  if (opts.loopbackOnly) {
    // A web page the user visits could point a DNS name at 127.0.0.1 and read the run through
    // the browser (DNS rebinding); its requests carry that name in Host, so only ours pass.
    app.use('*', async (c, next) => {
      const host = hostName((c.req.header('host') ?? '').toLowerCase());
      if (!LOOPBACK_NAMES.has(host) && !host.startsWith('127.'))
        return c.json({ error: 'forbidden host' }, 403);
      await next();
    });
  }
  let refreshedAt = 0;
  const fresh = () => {
    const now = Date.now();
    if (now - refreshedAt < REFRESH_MS) return;
    refreshedAt = now;
    refreshSource(src);
  };
  const page = dashboardPage();

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
  });
  app.get('/', (c) => c.html(page));
  app.get('/api/summary', (c) => {
    fresh();
    return c.json(summary(src));
  });
  app.get('/api/steps', (c) => {
    fresh();
    return c.json(stepSeries(src));
  });
  app.get('/api/artifacts', (c) => {
    fresh();
    const q = c.req.query();
    const query: ArtifactQuery = {
      strategy: q.strategy || undefined,
      repo: q.repo || undefined,
      validation: q.validation || undefined,
      q: q.q || undefined,
      minSolve: num(q.minSolve),
      maxSolve: num(q.maxSolve),
      sort: q.sort || undefined,
      dir: direction(q.dir),
      page: num(q.page),
      pageSize: num(q.pageSize),
    };
    return c.json(listArtifacts(src, query));
  });
  app.get('/api/injections', (c) => {
    fresh();
    const q = c.req.query();
    const query: InjectionQuery = {
      outcome: q.outcome || undefined,
      check: q.check || undefined,
      strategy: q.strategy || undefined,
      repo: q.repo || undefined,
      q: q.q || undefined,
      sort: q.sort || undefined,
      dir: direction(q.dir),
      page: num(q.page),
      pageSize: num(q.pageSize),
    };
    return c.json(listInjections(src, query));
  });
  app.get('/api/artifacts/:id', (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) return c.json({ error: 'bad artifact id' }, 400);
    const a = artifactDetail(src, id);
    return a ? c.json(a) : c.json({ error: 'no such artifact' }, 404);
  });
  app.get('/api/episodes/:id', (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) return c.json({ error: 'bad episode id' }, 400);
    const e = episodeDetail(src, id);
    return e ? c.json(e) : c.json({ error: 'no such episode' }, 404);
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => c.json({ error: err.message }, 500));
  return app;
}

/** Why a port could not be had, in one line, with what to do about it. */
function listenError(err: unknown, hostname: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  if (code === 'EADDRINUSE')
    return new UsageError(
      `cannot listen on ${where}: the port is already in use; try --port 0 (any free port) or another --port`,
    );
  if (code === 'EACCES')
    return new UsageError(
      `cannot listen on ${where}: permission denied; try a port above 1023 or --port 0`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new UsageError(
      `cannot listen on ${where}: ${hostname} is not an address of this machine; try --host 127.0.0.1`,
    );
  return err instanceof Error ? err : new Error(String(err));
}

/** Serves the dashboard of `dir`; throws UsageError if it is neither a run nor an inject output. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const src = openSource(opts.dir);
  const hostname = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8484;
  const loopback = isLoopback(hostname);
  const app = createDashboardApp(src, { loopbackOnly: loopback });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s as Server)) as Server;
      s.once('error', reject);
    });
  } catch (err) {
    closeSource(src);
    throw listenError(err, hostname, port);
  }
  if (!loopback) {
    (opts.warn ?? ((m: string) => process.stderr.write(`ssr dashboard: ${m}\n`)))(
      `warning: listening on ${hostname}, not loopback: the dashboard is reachable from the ` +
        'network, and whoever reaches this port can read the run (repository code, model ' +
        'output); it has no authentication. Use it only on a trusted network.',
    );
  }
  const address = server.address() as AddressInfo;
  const urlHost = hostname.includes(':') ? `[${hostname}]` : hostname;
  return {
    url: `http://${urlHost}:${address.port}/`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
        closeSource(src);
      }),
  };
}
