// A stand-in Docker Engine for tests on machines without a daemon: it speaks the Engine API's
// wire protocol over a unix socket (JSON endpoints, hijacked exec streams with the 8-byte
// multiplexed framing, tar archives with the path-stat header) for the endpoints ssr's Docker
// backend uses. Containers are directories, commands run in them under bubblewrap, a commit
// is a copy. It checks what ssr asks of the daemon; it is not a container runtime.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { basename, dirname, join, posix } from 'node:path';
import { muxFrame } from '../../src/sandbox/docker.js';

interface FakeImage {
  id: string;
  refs: Set<string>;
  dir: string;
  labels: Record<string, string>;
  user: string;
}

interface FakeContainer {
  id: string;
  name: string;
  image: FakeImage;
  dir: string;
  labels: Record<string, string>;
  /** The create request's body, for tests that check what ssr asked for. */
  config: Record<string, unknown>;
  running: boolean;
  processes: Set<ChildProcess>;
}

interface FakeExec {
  id: string;
  container: FakeContainer;
  config: { Cmd: string[]; Env?: string[]; WorkingDir?: string; User?: string };
  running: boolean;
  exitCode: number | null;
}

export interface FakeDockerEngine {
  socketPath: string;
  /** Registers `dir` (holding e.g. `testbed/`) as the root filesystem of image `ref`. */
  addImage(ref: string, dir: string, opts?: { user?: string }): void;
  containers: Map<string, FakeContainer>;
  images: Map<string, FakeImage>;
  /** Every request as "METHOD /path". */
  requests: string[];
  close(): Promise<void>;
}

const HOST_DIRS = ['usr', 'etc'];

function id(): string {
  return randomBytes(32).toString('hex');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(data);
}

function notFound(res: ServerResponse, message: string): void {
  json(res, 404, { message });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Go's os.FileMode of a path, as the daemon's X-Docker-Container-Path-Stat header gives it. */
function pathStat(host: string): string {
  const st = lstatSync(host);
  const type = st.isDirectory() ? 2 ** 31 : st.isSymbolicLink() ? 2 ** 27 : 0;
  const stat = {
    name: basename(host),
    size: st.size,
    mode: (st.mode & 0o777) + type,
    mtime: st.mtime.toISOString(),
    linkTarget: st.isSymbolicLink() ? readlinkSync(host) : '',
  };
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export async function startFakeDockerEngine(root: string): Promise<FakeDockerEngine> {
  mkdirSync(root, { recursive: true });
  const socketPath = join(root, 'docker.sock');
  rmSync(socketPath, { force: true });
  const images = new Map<string, FakeImage>();
  const containers = new Map<string, FakeContainer>();
  const execs = new Map<string, FakeExec>();
  const requests: string[] = [];

  const findImage = (ref: string): FakeImage | undefined => {
    for (const img of new Set(images.values())) {
      if (img.id === ref || img.refs.has(ref) || img.refs.has(`${ref}:latest`)) return img;
    }
    return undefined;
  };
  const findContainer = (ref: string): FakeContainer | undefined =>
    containers.get(ref) ?? [...containers.values()].find((c) => c.name === ref);

  const addImage = (ref: string, dir: string, opts: { user?: string } = {}) => {
    const img: FakeImage = {
      id: `sha256:${id()}`,
      refs: new Set([ref.includes(':') ? ref : `${ref}:latest`]),
      dir,
      labels: {},
      user: opts.user ?? '',
    };
    images.set(img.id, img);
  };

  /** A container path mapped into the container's directory (null: outside what it holds). */
  const hostPath = (c: FakeContainer, path: string): string | null => {
    const norm = posix.normalize(path);
    if (!norm.startsWith('/') || norm.split('/').includes('..')) return null;
    const top = norm.split('/')[1] ?? '';
    if (!top || HOST_DIRS.includes(top)) return null;
    return join(c.dir, norm);
  };

  const killAll = (c: FakeContainer) => {
    for (const p of c.processes) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {}
    }
  };

  /** bubblewrap: the host's /usr and /etc read-only, the container's own directories writable. */
  const bwrapArgv = (c: FakeContainer, e: FakeExec): string[] => {
    const argv = ['bwrap', '--tmpfs', '/'];
    for (const d of HOST_DIRS) argv.push('--ro-bind', `/${d}`, `/${d}`);
    for (const [link, target] of [
      ['/bin', 'usr/bin'],
      ['/sbin', 'usr/sbin'],
      ['/lib', 'usr/lib'],
      ['/lib64', 'usr/lib64'],
    ])
      argv.push('--symlink', target!, link!);
    argv.push('--proc', '/proc', '--dev', '/dev');
    for (const entry of readdirSync(c.dir)) argv.push('--bind', join(c.dir, entry), `/${entry}`);
    argv.push('--unshare-pid', '--unshare-net', '--die-with-parent', '--clearenv');
    const env = ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/root', ...(e.config.Env ?? [])];
    for (const kv of env) {
      const i = kv.indexOf('=');
      argv.push('--setenv', kv.slice(0, i), kv.slice(i + 1));
    }
    argv.push('--chdir', e.config.WorkingDir || '/', '--', ...e.config.Cmd);
    return argv;
  };

  const startExec = (e: FakeExec, socket: Socket, head: Buffer, contentLength: number) => {
    // The start request's JSON body arrives on the hijacked socket; what follows is stdin.
    let skip = contentLength;
    const c = e.container;
    const argv = bwrapArgv(c, e);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    c.processes.add(child);
    e.running = true;
    socket.write(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n' +
        'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    const input = (chunk: Buffer) => {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      if (chunk.length > 0 && child.stdin.writable) child.stdin.write(chunk);
    };
    child.stdin.on('error', () => {});
    if (head.length > 0) input(head);
    socket.on('data', input);
    socket.on('end', () => child.stdin.end());
    socket.on('error', () => killAll(c));
    child.stdout.on('data', (d: Buffer) => socket.writable && socket.write(muxFrame(1, d)));
    child.stderr.on('data', (d: Buffer) => socket.writable && socket.write(muxFrame(2, d)));
    child.on('close', (code, signal) => {
      c.processes.delete(child);
      e.running = false;
      e.exitCode = code ?? (signal ? 128 + 9 : 1);
      socket.end();
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    requests.push(`${req.method} ${path}`);
    const q = url.searchParams;
    let m: string[] = [];
    // Matches `path` against a route, keeping the groups in `m`.
    const route = (re: RegExp): boolean => {
      const found = re.exec(path);
      m = found ? [...found] : [];
      return found !== null;
    };
    if (path === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return res.end('OK');
    }
    if (route(/^\/images\/(.+)\/json$/) && req.method === 'GET') {
      const img = findImage(decodeURIComponent(m[1]!));
      if (!img) return notFound(res, `No such image: ${m[1]}`);
      return json(res, 200, { Id: img.id, RepoTags: [...img.refs], Config: { User: img.user } });
    }
    if (path === '/images/json') {
      const want = labelFilter(q.get('filters'));
      const list = [...new Set(images.values())].filter((i) => matches(i.labels, want));
      return json(
        res,
        200,
        list.map((i) => ({ Id: i.id, RepoTags: [...i.refs], Labels: i.labels })),
      );
    }
    if (route(/^\/images\/(.+)$/) && req.method === 'DELETE') {
      const img = findImage(decodeURIComponent(m[1]!));
      if (!img) return notFound(res, `No such image: ${m[1]}`);
      images.delete(img.id);
      rmSync(img.dir, { recursive: true, force: true });
      return json(res, 200, [{ Deleted: img.id }]);
    }
    if (path === '/containers/create' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)).toString() || '{}');
      const img = findImage(body.Image);
      if (!img) return notFound(res, `No such image: ${body.Image}`);
      const c: FakeContainer = {
        id: id(),
        name: q.get('name') ?? id().slice(0, 12),
        image: img,
        dir: join(root, 'containers', id().slice(0, 16)),
        labels: { ...img.labels, ...body.Labels },
        config: body,
        running: false,
        processes: new Set(),
      };
      cpSync(img.dir, c.dir, { recursive: true, verbatimSymlinks: true });
      for (const d of ['tmp', '.ssr']) mkdirSync(join(c.dir, d), { recursive: true });
      containers.set(c.id, c);
      return json(res, 201, { Id: c.id, Warnings: [] });
    }
    if (path === '/containers/json') {
      const want = labelFilter(q.get('filters'));
      const list = [...containers.values()].filter((c) => matches(c.labels, want));
      return json(
        res,
        200,
        list.map((c) => ({ Id: c.id, Names: [`/${c.name}`], Labels: c.labels })),
      );
    }
    if (path === '/commit' && req.method === 'POST') {
      const c = findContainer(q.get('container') ?? '');
      if (!c) return notFound(res, `No such container: ${q.get('container')}`);
      const body = JSON.parse((await readBody(req)).toString() || '{}');
      const dir = join(root, 'images', id().slice(0, 16));
      cpSync(c.dir, dir, { recursive: true, verbatimSymlinks: true });
      const img: FakeImage = {
        id: `sha256:${id()}`,
        refs: new Set([`${q.get('repo')}:${q.get('tag') || 'latest'}`]),
        dir,
        labels: { ...c.labels, ...body.Labels },
        user: c.image.user,
      };
      images.set(img.id, img);
      return json(res, 201, { Id: img.id });
    }
    if (route(/^\/containers\/([^/]+)(\/.*)?$/)) {
      const c = findContainer(m[1]!);
      if (!c) return notFound(res, `No such container: ${m[1]}`);
      const action = m[2] ?? '';
      if (action === '/start' || action === '/restart') {
        if (action === '/restart') killAll(c);
        c.running = true;
        res.writeHead(204);
        return res.end();
      }
      if (action === '' && req.method === 'DELETE') {
        killAll(c);
        containers.delete(c.id);
        rmSync(c.dir, { recursive: true, force: true });
        res.writeHead(204);
        return res.end();
      }
      if (action === '/exec' && req.method === 'POST') {
        if (!c.running) return json(res, 409, { message: `Container ${c.id} is not running` });
        const e: FakeExec = {
          id: id(),
          container: c,
          config: JSON.parse((await readBody(req)).toString()),
          running: false,
          exitCode: null,
        };
        execs.set(e.id, e);
        return json(res, 201, { Id: e.id });
      }
      if (action === '/archive') {
        const target = hostPath(c, q.get('path') ?? '');
        if (req.method === 'PUT') {
          if (!target || !existsSync(target) || !lstatSync(target).isDirectory()) {
            await readBody(req);
            return notFound(res, `Could not find the file ${q.get('path')} in container`);
          }
          const tar = spawnSync('tar', ['-C', target, '-xf', '-'], { input: await readBody(req) });
          if (tar.status !== 0) return json(res, 500, { message: tar.stderr.toString() });
          res.writeHead(200);
          return res.end();
        }
        if (!target || !existsSync(target)) {
          return notFound(res, `Could not find the file ${q.get('path')} in container`);
        }
        const headers = {
          'Content-Type': 'application/x-tar',
          'X-Docker-Container-Path-Stat': pathStat(target),
        };
        if (req.method === 'HEAD') {
          res.writeHead(200, headers);
          return res.end();
        }
        res.writeHead(200, headers);
        const tar = spawn('tar', ['-C', dirname(target), '-cf', '-', basename(target)]);
        tar.stdout.pipe(res);
        return;
      }
    }
    if (route(/^\/exec\/([^/]+)\/json$/)) {
      const e = execs.get(m[1]!);
      if (!e) return notFound(res, `No such exec instance: ${m[1]}`);
      return json(res, 200, { ID: e.id, Running: e.running, ExitCode: e.exitCode });
    }
    json(res, 404, { message: `page not found: ${req.method} ${path}` });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { message: String(err) });
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://docker').pathname.replace(/^\/v\d+\.\d+/, '');
    requests.push(`${req.method} ${path} (hijack)`);
    const m = /^\/exec\/([^/]+)\/start$/.exec(path);
    const e = m ? execs.get(m[1]!) : undefined;
    if (!e) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    startExec(e, socket, head, Number(req.headers['content-length'] ?? 0));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));

  return {
    socketPath,
    addImage,
    containers,
    images,
    requests,
    async close() {
      for (const c of containers.values()) killAll(c);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}

function labelFilter(filters: string | null): string[] {
  if (!filters) return [];
  const parsed = JSON.parse(filters) as { label?: string[] | Record<string, boolean> };
  const label = parsed.label ?? [];
  return Array.isArray(label) ? label : Object.keys(label);
}

function matches(labels: Record<string, string>, want: string[]): boolean {
  return want.every((w) => {
    const [k, v] = w.split('=');
    return v === undefined ? k! in labels : labels[k!] === v;
  });
}
