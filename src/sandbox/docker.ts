// The Docker backend: sandboxes are containers of a Docker Engine, driven through its HTTP API
// with dockerode. dockerode is imported lazily: nothing here is loaded unless a DockerHost is
// connected, so ssr's other backends do not pay for it.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { HeadTailBuffer } from '../util/bounded-buffer.js';
import { EnvironmentError, errorMessage, UsageError } from '../util/errors.js';
import { DEFAULT_LIMITS, type SandboxLimits } from './cgroup.js';
import { applyOutcome, gitApplyScript } from './git-apply.js';
import { safeRel, shellQuote } from './local.js';
import { ExecKilledError, type ExecResult, type SpawnOptions } from './spawn.js';
import { formatFileDiff, isNoisePath } from './tree-diff.js';
import type {
  ApplyResult,
  ExecOptions,
  Sandbox,
  SandboxMode,
  SandboxProvider,
  Snapshot,
} from './types.js';

export interface DockerHostOptions {
  /** Unix socket of the daemon; default: DOCKER_HOST, else the standard socket. */
  socketPath?: string;
  limits?: Partial<SandboxLimits>;
  /**
   * User commands run as when the image names none. An image's own USER always wins; with
   * neither, commands run as root inside the container, with a reduced capability set.
   */
  user?: string;
  /** Bound on each Engine API call that is not an exec (default 60 s). */
  apiTimeoutMs?: number;
  /** Bound on the whole repository scan when a snapshot image is first prepared (10 min). */
  prepareTimeoutMs?: number;
  /** Largest file readFile/writeFile/exposeFile move (default 64 MiB). */
  maxFileBytes?: number;
  /** Largest diff() returned; a larger one is an error rather than a silently cut patch. */
  maxDiffBytes?: number;
  /** How long connect() waits for /_ping (default 5 s). */
  connectTimeoutMs?: number;
}

/** One file of a repository state: git's mode and a hash of the content (or link target). */
export interface ManifestEntry {
  mode: '100644' | '100755' | '120000';
  hash: string;
}

/** A frozen state: a (temporary, labelled) image plus the manifest of its repository. */
export interface DockerSnapshot extends Snapshot {
  readonly backend: 'docker';
  /** Image reference containers start from. */
  readonly image: string;
  /**
   * Every file of the repository at this point, kept on the host: a diff compares the
   * container's files with it and reads old contents from a container of `image` that no
   * command runs in, so nothing of an earlier state is readable inside a sandbox.
   */
  readonly manifest: ReadonlyMap<string, ManifestEntry>;
  readonly repoPath: string;
  readonly root: DockerSnapshot;
}

const LABEL = 'ssr';
const HOST_LABEL = 'ssr.host';
// Where the backend keeps its own state inside containers, outside the repository.
const STATE = '/.ssr';
const FILES_DIR = `${STATE}/files`;
const TMP_DIR = `${STATE}/tmp`;
// Extra time the host gives an exec beyond its own timeout before it stops waiting and kills
// the container's processes itself: the in-container `timeout` should always fire first.
const HOST_GRACE_MS = 5_000;
const MiB = 1024 * 1024;

const KILLED: ExecResult = {
  exitCode: null,
  signal: 'SIGKILL',
  stdout: '',
  stderr: '',
  durationMs: 0,
  timedOut: false,
  truncated: false,
  stdoutBytes: 0,
  stderrBytes: 0,
};

/** Prepares an image: checks the repository is there and makes the backend's own folders. */
function prepareScript(repoPath: string): string {
  return `set -e
[ -d ${shellQuote(repoPath)} ] || { echo "ssr: ${repoPath} is not a directory in the image" >&2; exit 3; }
mkdir -p ${FILES_DIR} ${TMP_DIR}
chmod 755 ${STATE} ${FILES_DIR}
chmod 1777 ${TMP_DIR}`;
}

/**
 * Lists the repository's files as NUL-separated records: `F<sha256>  ./path`, `X./path` for
 * executable files, `L./path` + target for symlinks. The noise the local backend's diff leaves
 * out is pruned here (.git, __pycache__, .pytest_cache, node_modules/.cache).
 */
function manifestScript(repoPath: string): string {
  const prune =
    '\\( -path ./.git -o -name __pycache__ -o -name .pytest_cache -o -path ./node_modules/.cache \\) -prune';
  return `set -e
cd ${shellQuote(repoPath)}
find . -mindepth 1 ${prune} -o -type f -print0 | xargs -0 -r sha256sum -z -- | sed -z 's/^/F/'
find . -mindepth 1 ${prune} -o -type f -perm -u=x -printf 'X%p\\0'
find . -mindepth 1 ${prune} -o -type l -printf 'L%p\\0%l\\0'`;
}

/** Parses manifestScript's output (paths made repo-relative; *.pyc left out). */
export function parseManifest(out: string): Map<string, ManifestEntry> {
  const m = new Map<string, ManifestEntry>();
  const recs = out.split('\0');
  const rel = (p: string) => p.replace(/^\.\//, '');
  const exec = new Set<string>();
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i]!;
    if (r.startsWith('F')) {
      const hash = r.slice(1, 65);
      // sha256sum -z: hash, two spaces (or space and '*'), the name unescaped.
      m.set(rel(r.slice(67)), { mode: '100644', hash });
    } else if (r.startsWith('X')) {
      exec.add(rel(r.slice(1)));
    } else if (r.startsWith('L')) {
      const target = recs[++i] ?? '';
      m.set(rel(r.slice(1)), { mode: '120000', hash: `link:${target}` });
    }
  }
  for (const p of exec) {
    const e = m.get(p);
    if (e && e.mode === '100644') e.mode = '100755';
  }
  for (const p of [...m.keys()]) if (isNoisePath(p)) m.delete(p);
  return m;
}

// ---------------------------------------------------------------------------------------------
// The multiplexed stream format of attached, non-TTY execs: frames of an 8-byte header (stream
// type, three zero bytes, big-endian payload length) and the payload.

/** Splits a multiplexed stream into stdout and stderr, whatever the chunk boundaries. */
export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private current = 1;

  constructor(private readonly sink: (stream: 'stdout' | 'stderr', chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length);
        this.sink(this.current === 2 ? 'stderr' : 'stdout', buf.subarray(0, take));
        this.remaining -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < 8) {
        // A header split across chunks: keep the piece (copied: chunks may be pooled).
        this.pending = Buffer.from(buf);
        return;
      }
      this.current = buf[0]!;
      this.remaining = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
  }
}

/** One frame of the multiplexed format (used by tests and the fake engine). */
export function muxFrame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

// ---------------------------------------------------------------------------------------------
// Minimal tar: the archive endpoints speak it; a single regular file is all we ever write, and
// only the first entry of what we read matters.

function tarHeader(name: string, size: number, mode: number, uid: number, gid: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) =>
    h.write(value, offset, length, 'utf8');
  const octal = (n: number, offset: number, length: number) =>
    field(`${n.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  field(name, 0, 100);
  octal(mode & 0o7777, 100, 8);
  octal(uid, 108, 8);
  octal(gid, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(Date.now() / 1000), 136, 12);
  h.fill(0x20, 148, 156);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A tar holding one regular file named `name` (a single path component). */
export function tarOneFile(
  name: string,
  data: Buffer,
  opts: { mode?: number; uid?: number; gid?: number } = {},
): Buffer {
  if (Buffer.byteLength(name) > 100 || name.includes('/')) {
    throw new Error(`tar entry name not supported: ${name}`);
  }
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([
    tarHeader(name, data.length, opts.mode ?? 0o644, opts.uid ?? 0, opts.gid ?? 0),
    data,
    Buffer.alloc(pad),
    Buffer.alloc(1024),
  ]);
}

export interface TarEntry {
  name: string;
  /** '0' regular file, '2' symlink, '5' directory, … (ustar typeflag). */
  type: string;
  mode: number;
  data: Buffer;
}

/** The first real entry of a tar (pax and GNU long-name headers are applied, not returned). */
export function firstTarEntry(tar: Buffer): TarEntry | null {
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return null;
    const str = (o: number, l: number) => {
      const s = h.subarray(o, o + l);
      const end = s.indexOf(0);
      return s.subarray(0, end < 0 ? l : end).toString('utf8');
    };
    const size = Number.parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1) || '0';
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'g') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m && type === 'x') longName = m[1];
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = str(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    return { name, type: type === '\0' ? '0' : type, mode: Number.parseInt(str(100, 8), 8), data };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

/** Runs `fn` with an abort signal and gives up (aborting it) after `ms`. */
async function bounded<T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>) {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new EnvironmentError(`docker: ${what} took longer than ${ms} ms`, 'docker-timeout'));
    }, ms);
  });
  try {
    return await Promise.race([fn(ac.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

async function readBounded(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      throw new UsageError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** How the daemon is addressed, for messages: DOCKER_HOST's form. */
function describeEndpoint(socketPath: string | undefined): string {
  if (socketPath) return `unix://${socketPath}`;
  if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST;
  const user = join(homedir(), '.docker', 'run', 'docker.sock');
  return `unix://${existsSync(user) ? user : '/var/run/docker.sock'}`;
}

type DockerCtor = new (opts?: Dockerode.DockerOptions) => Dockerode;
let dockerodeModule: Promise<DockerCtor> | undefined;
function loadDockerode(): Promise<DockerCtor> {
  dockerodeModule ??= import('dockerode').then(
    (m) => ((m as { default?: DockerCtor }).default ?? m) as DockerCtor,
  );
  return dockerodeModule;
}

/**
 * One process's use of a Docker daemon: the images and containers it makes carry the labels
 * `ssr=1` and `ssr.host=<id>`, and close() removes everything with its id.
 */
export class DockerHost implements SandboxProvider {
  /** The daemon enforces the limits (cgroups) and isolation (namespaces) of each container. */
  readonly mode: SandboxMode = {
    isolation: 'docker',
    storage: 'commit',
    limits: { processes: true, memory: true },
  };
  readonly id = `ssr-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly limits: SandboxLimits;
  readonly apiTimeoutMs: number;
  readonly prepareTimeoutMs: number;
  readonly maxFileBytes: number;
  readonly maxDiffBytes: number;
  private readonly live = new Set<DockerSandbox>();
  private counter = 0;
  private closed = false;

  private constructor(
    /** @internal */ readonly docker: Dockerode,
    readonly endpoint: string,
    private readonly opts: DockerHostOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.apiTimeoutMs = opts.apiTimeoutMs ?? 60_000;
    this.prepareTimeoutMs = opts.prepareTimeoutMs ?? 600_000;
    this.maxFileBytes = opts.maxFileBytes ?? 64 * MiB;
    this.maxDiffBytes = opts.maxDiffBytes ?? 64 * MiB;
  }

  /** Connects and checks that a daemon answers; a UsageError says so when none does. */
  static async connect(opts: DockerHostOptions = {}): Promise<DockerHost> {
    const endpoint = describeEndpoint(opts.socketPath);
    const Docker = await loadDockerode();
    let docker: Dockerode;
    try {
      docker = new Docker(opts.socketPath ? { socketPath: opts.socketPath } : undefined);
    } catch (err) {
      throw new UsageError(`bad Docker endpoint ${endpoint}: ${errorMessage(err)}`);
    }
    const ms = opts.connectTimeoutMs ?? 5_000;
    try {
      await bounded('ping', ms, (abortSignal) =>
        (docker.ping as (o: object) => Promise<unknown>)({ abortSignal }),
      );
    } catch (err) {
      throw new UsageError(
        `no Docker daemon at ${endpoint} (${errorMessage(err)}); the local bubblewrap backend needs none`,
        'no-docker',
      );
    }
    return new DockerHost(docker, endpoint, opts);
  }

  /** @internal */
  labels(): Record<string, string> {
    return { [LABEL]: '1', [HOST_LABEL]: this.id };
  }

  /** @internal */
  nextName(kind: string): string {
    return `${this.id}-${kind}${++this.counter}`;
  }

  /** @internal */
  call<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, ms = this.apiTimeoutMs) {
    return bounded(what, ms, fn);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('DockerHost is closed');
  }

  /**
   * The original state of an image (which must already be present: nothing is pulled). Its
   * repository is recorded once in a hidden git repository outside it, in a labelled image
   * derived from `image`, so diffs later are git's own.
   */
  async snapshotImage(image: string, opts: { repoPath?: string } = {}): Promise<DockerSnapshot> {
    this.assertOpen();
    const repoPath = posix.normalize(opts.repoPath ?? '/testbed');
    if (!repoPath.startsWith('/')) throw new UsageError(`repoPath must be absolute: ${repoPath}`);
    let info: Dockerode.ImageInspectInfo;
    try {
      info = await this.call(`inspect image ${image}`, (abortSignal) =>
        this.docker.getImage(image).inspect({ abortSignal } as Dockerode.ImageInspectOptions),
      );
    } catch (err) {
      if (statusCode(err) === 404) {
        throw new UsageError(`image ${image} is not present; pull it first (docker pull ${image})`);
      }
      throw err;
    }
    const user = info.Config?.User || this.opts.user || '';
    const helper = await this.createContainer(image, repoPath, user);
    try {
      const r = await runExec(this, helper, prepareScript(repoPath), {
        user: '0:0',
        env: [],
        workingDir: '/',
        timeoutMs: this.prepareTimeoutMs,
        maxOutputBytes: 64 * 1024,
      });
      if (r.exitCode !== 0) {
        const why = r.timedOut ? 'timed out' : r.stderr.trim() || `exit ${r.exitCode}`;
        throw new UsageError(`cannot prepare image ${image} for ssr: ${why}`);
      }
      const manifest = await this.manifestOf(helper, repoPath);
      const tag = await this.commit(helper);
      const snap = {
        backend: 'docker' as const,
        id: `${this.id}-snap${this.counter}`,
        layers: [],
        image: tag,
        manifest,
        repoPath,
        sourceDir: `docker-image:${image}:${repoPath}`,
        user,
        root: undefined as unknown as DockerSnapshot,
      };
      snap.root = snap;
      return snap;
    } finally {
      await this.removeContainer(helper).catch(() => undefined);
    }
  }

  /** @internal The repository's files in a container now (run as root, bounded). */
  async manifestOf(
    container: Dockerode.Container,
    repoPath: string,
  ): Promise<Map<string, ManifestEntry>> {
    const r = await runExec(this, container, manifestScript(repoPath), {
      user: '0:0',
      env: ['LC_ALL=C'],
      workingDir: '/',
      timeoutMs: this.prepareTimeoutMs,
      maxOutputBytes: 256 * MiB,
    });
    if (r.exitCode !== 0 || r.truncated) {
      const why = r.timedOut
        ? 'timed out'
        : r.truncated
          ? 'too many files'
          : r.stderr.trim() || `exit ${r.exitCode}`;
      throw new EnvironmentError(`docker: could not list the repository's files: ${why}`);
    }
    return parseManifest(r.stdout);
  }

  private readonly references = new Map<string, Promise<Dockerode.Container>>();

  /**
   * @internal A container of a snapshot's image in which no command ever runs: diffs read the
   * old side of changed files from it. One per image, removed by close().
   */
  referenceOf(snap: DockerSnapshot): Promise<Dockerode.Container> {
    let c = this.references.get(snap.image);
    if (!c) {
      c = this.createContainer(snap.image, snap.repoPath, (snap as { user?: string }).user ?? '');
      c.catch(() => this.references.delete(snap.image));
      this.references.set(snap.image, c);
    }
    return c;
  }

  /** @internal A regular file's bytes (or null if absent) from a container, by absolute path. */
  async readFrom(
    container: Dockerode.Container,
    abs: string,
    what: string,
  ): Promise<Buffer | null> {
    let stream: Readable;
    try {
      stream = (await this.call(`read ${what}`, (abortSignal) =>
        container.getArchive({ path: abs, abortSignal }),
      )) as Readable;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
    const tar = await this.call(`read ${what}`, () =>
      readBounded(stream, this.maxFileBytes + 64 * 1024, `${what} in the sandbox`),
    );
    const entry = firstTarEntry(tar);
    if (!entry) return null;
    if (entry.type !== '0' && entry.type !== '7') {
      throw new UsageError(`not a regular file in the sandbox: ${what}`);
    }
    if (entry.data.length > this.maxFileBytes) {
      throw new UsageError(`${what} is larger than ${this.maxFileBytes} bytes`);
    }
    return Buffer.from(entry.data);
  }

  /**
   * A new sandbox: a container of `snapshot`'s image. Returned at once, like the local
   * backend's; the container is created and started in the background and every operation on
   * the sandbox waits for it (and fails with the daemon's error if it could not start).
   */
  create(snapshot: Snapshot): DockerSandbox {
    this.assertOpen();
    const snap = snapshot as DockerSnapshot;
    if (snap.backend !== 'docker') {
      throw new UsageError('a Docker sandbox needs a snapshot from DockerHost.snapshotImage');
    }
    const user = (snap as { user?: string }).user ?? '';
    const name = this.nextName('c');
    const ready = this.createContainer(snap.image, snap.repoPath, user, name);
    const sb = new DockerSandbox(this, name, ready, snap, user);
    this.live.add(sb);
    return sb;
  }

  /** @internal */
  async createContainer(image: string, repoPath: string, user: string, name = this.nextName('c')) {
    const memory = this.limits.memoryBytes;
    const container = await this.call('create container', (abortSignal) =>
      this.docker.createContainer({
        name,
        Image: image,
        // A shell that waits forever: commands arrive as execs; the image's own command is not
        // the workload. `exec "$0"`-free: the image's CMD, if appended, lands in unused args.
        Entrypoint: ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600; done'],
        User: user,
        WorkingDir: repoPath,
        Labels: this.labels(),
        NetworkDisabled: true,
        Tty: false,
        HostConfig: {
          NetworkMode: 'none',
          Memory: memory,
          // No swap beyond the memory limit: a leaking test must die, not thrash the host.
          MemorySwap: memory,
          PidsLimit: this.limits.maxProcesses,
          // An init reaps what killed commands orphan, which a sleep loop would not.
          Init: true,
          CapDrop: ['ALL'],
          // What package installs and test suites commonly need as root; no raw sockets,
          // mknod, chroot or capability games.
          CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID'],
          SecurityOpt: ['no-new-privileges'],
        },
        abortSignal,
      } as Dockerode.ContainerCreateOptions & { abortSignal: AbortSignal }),
    );
    try {
      await this.call('start container', (abortSignal) => container.start({ abortSignal }));
    } catch (err) {
      await this.removeContainer(container).catch(() => undefined);
      throw err;
    }
    return container;
  }

  /** @internal Commits a container to a new labelled image; returns its reference. */
  async commit(container: Dockerode.Container): Promise<string> {
    const repo = 'ssr-snapshot';
    const tag = this.nextName('i');
    // Query and body are given apart: the query names the new image, the body (a container
    // config merged into the committed one) carries the labels close() finds it by.
    await this.call('commit container', (abortSignal) =>
      (container.commit as (o: object) => Promise<unknown>)({
        _query: { container: container.id, repo, tag, pause: true },
        _body: { Labels: this.labels() },
        abortSignal,
      }),
    );
    return `${repo}:${tag}`;
  }

  /** @internal */
  async removeContainer(container: Dockerode.Container): Promise<void> {
    try {
      await this.call('remove container', (abortSignal) =>
        container.remove({ force: true, v: true, abortSignal }),
      );
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  /** @internal */
  async removeImage(ref: string): Promise<void> {
    try {
      await this.call(`remove image ${ref}`, (abortSignal) =>
        this.docker.getImage(ref).remove({ force: true, abortSignal } as object),
      );
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  /** @internal */
  forget(sb: DockerSandbox): void {
    this.live.delete(sb);
  }

  get liveSandboxes(): number {
    return this.live.size;
  }

  /**
   * Disposes every sandbox, then removes whatever still carries this host's label (snapshot
   * images, containers of sandboxes that failed half-way).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: string[] = [];
    for (const sb of [...this.live]) {
      await sb.dispose().catch((err) => errors.push(errorMessage(err)));
    }
    const filters = JSON.stringify({ label: [`${HOST_LABEL}=${this.id}`] });
    const containers = await this.call('list containers', (abortSignal) =>
      this.docker.listContainers({ all: true, filters, abortSignal } as object),
    );
    for (const c of containers) {
      await this.removeContainer(this.docker.getContainer(c.Id)).catch((err) =>
        errors.push(errorMessage(err)),
      );
    }
    const images = await this.call('list images', (abortSignal) =>
      this.docker.listImages({ filters, abortSignal } as object),
    );
    for (const img of images) {
      await this.removeImage(img.Id).catch((err) => errors.push(errorMessage(err)));
    }
    if (errors.length > 0) {
      throw new EnvironmentError(`docker cleanup incomplete: ${errors.join('; ')}`);
    }
  }
}

/** The local spawn's bounds and streams; the process is named the exec API's way. */
interface RunOptions extends Omit<SpawnOptions, 'cwd' | 'env' | 'signal'> {
  user: string;
  env: string[];
  workingDir: string;
}

/**
 * One command through the exec API: under `timeout -s KILL` inside the container (GNU timeout
 * signals its whole process group, so what the command started dies with it), with the host
 * also giving up a little later and restarting the container if the inner timeout did not
 * end it. Output is demultiplexed and kept head+tail per stream.
 */
async function runExec(
  host: DockerHost,
  container: Dockerode.Container,
  command: string,
  o: RunOptions,
): Promise<ExecResult> {
  if (command.includes('\0')) throw new UsageError('command contains a NUL byte');
  const started = performance.now();
  const secs = (Math.max(1, o.timeoutMs) / 1000).toFixed(3);
  const exec = await host.call('create exec', (abortSignal) =>
    container.exec({
      Cmd: ['timeout', '-s', 'KILL', secs, '/bin/bash', '-c', command],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: o.env,
      WorkingDir: o.workingDir,
      User: o.user,
      abortSignal,
    } as Dockerode.ExecCreateOptions),
  );
  const stream: Duplex = await host.call('start exec', (abortSignal) =>
    exec.start({ hijack: true, stdin: true, abortSignal }),
  );
  const stdout = new HeadTailBuffer(o.maxOutputBytes);
  const stderr = new HeadTailBuffer(o.maxOutputBytes);
  const file = o.stdoutFile ? createWriteStream(o.stdoutFile) : undefined;
  const fileLimit = o.maxFileBytes ?? Number.POSITIVE_INFINITY;
  let fileBytes = 0;
  let fileTruncated = false;
  const demux = new StreamDemuxer((which, chunk) => {
    if (which === 'stderr') return stderr.push(chunk);
    if (!file) return stdout.push(chunk);
    stdout.total += chunk.length;
    const take = Math.max(0, Math.min(chunk.length, fileLimit - fileBytes));
    if (take < chunk.length) fileTruncated = true;
    if (take > 0) file.write(take === chunk.length ? chunk : chunk.subarray(0, take));
    fileBytes += take;
  });

  let hostTimedOut = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      hostTimedOut = true;
      stream.destroy();
      resolve();
    }, o.timeoutMs + HOST_GRACE_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('data', (c: Buffer) => demux.push(c));
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
    // The command sees end of input once its input is written: the hijacked connection is
    // half-closed, which the daemon passes on as EOF.
    if (o.stdinFile) {
      const input = createReadStream(o.stdinFile);
      input.on('error', () => stream.end());
      input.pipe(stream);
    } else {
      stream.end(o.stdin ?? '');
    }
  });
  if (file) await new Promise<void>((r) => file.end(r));

  let exitCode: number | null = null;
  if (hostTimedOut) {
    // The inner timeout did not end it (no coreutils timeout in the image, an unkillable
    // process): stop everything in the container; its filesystem survives a restart.
    await host
      .call('restart container', (abortSignal) => container.restart({ t: 0, abortSignal }))
      .catch(() => undefined);
  } else {
    // The stream can end a moment before the daemon records the exit code.
    for (let i = 0; i < 50; i++) {
      const info = await host.call('inspect exec', (abortSignal) => exec.inspect({ abortSignal }));
      if (!info.Running) {
        exitCode = info.ExitCode ?? null;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const durationMs = performance.now() - started;
  // 137 is how a SIGKILLed process (timeout's) is reported; before the deadline it was
  // something else (the OOM killer, the command's own exit status).
  const timedOut = hostTimedOut || (exitCode === 137 && durationMs >= o.timeoutMs);
  return {
    exitCode: timedOut ? null : exitCode,
    signal: timedOut ? 'SIGKILL' : null,
    stdout: file ? '' : stdout.toString(),
    stderr: stderr.toString(),
    durationMs,
    timedOut,
    truncated: stdout.truncated || stderr.truncated || fileTruncated,
    stdoutBytes: stdout.total,
    stderrBytes: stderr.total,
  };
}

export class DockerSandbox implements Sandbox {
  readonly repoPath: string;
  readonly isolation = 'docker' as const;
  readonly backend = 'docker' as const;
  readonly id: string;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly exposed = new Map<string, { hostPath: string; uploaded: string | null }>();
  /** Images committed for this sandbox alone (the one fork() started it from). */
  readonly ownedImages: string[] = [];
  private ids: { uid: number; gid: number } | null = null;
  private snapCount = 0;

  private started: Dockerode.Container | undefined;
  private startError: unknown;
  private readonly ready: Promise<Dockerode.Container>;

  constructor(
    private readonly host: DockerHost,
    id: string,
    ready: Promise<Dockerode.Container>,
    private readonly base: DockerSnapshot,
    private readonly user: string,
  ) {
    this.repoPath = base.repoPath;
    this.id = id;
    this.ready = ready;
    // Every operation queues behind the container's start.
    this.queue = ready.then(
      (c) => {
        this.started = c;
      },
      (err) => {
        this.startError = err;
      },
    );
  }

  /** @internal The running container (throws the start error if it never started). */
  get container(): Dockerode.Container {
    if (!this.started) throw this.startError ?? new Error(`sandbox ${this.id} has no container`);
    return this.started;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`sandbox ${this.id} was disposed`);
  }

  /** Copied into the container (read-only for commands) before the next exec. */
  exposeFile(hostPath: string, name: string): string {
    this.assertLive();
    const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
    this.exposed.set(safe, { hostPath, uploaded: null });
    return posix.join(FILES_DIR, safe);
  }

  /** Uploads exposed files that are new or changed on the host since they were uploaded. */
  private async syncExposed(): Promise<void> {
    for (const [name, e] of this.exposed) {
      const st = statSync(e.hostPath);
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (e.uploaded === stamp) continue;
      if (st.size > this.host.maxFileBytes) {
        throw new UsageError(`${e.hostPath} is larger than ${this.host.maxFileBytes} bytes`);
      }
      const tar = tarOneFile(name, readFileSync(e.hostPath), { mode: 0o555 });
      await this.host.call(`copy ${name} into the container`, (abortSignal) =>
        this.container.putArchive(tar, { path: FILES_DIR, abortSignal }),
      );
      e.uploaded = stamp;
    }
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    return this.serial(() => this.execNow(command, opts));
  }

  private async execNow(command: string, opts: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    await this.syncExposed();
    let r: ExecResult;
    try {
      r = await this.runCommand(command, opts);
    } catch (err) {
      if (!this.disposed) throw err;
      r = { ...KILLED, stderr: errorMessage(err) };
    }
    // The container went away under the command: report it as killed, never as a result.
    if (this.disposed) {
      throw new ExecKilledError(
        `sandbox ${this.id} was disposed: the running command was killed`,
        r,
      );
    }
    return r;
  }

  private runCommand(command: string, opts: ExecOptions): Promise<ExecResult> {
    return runExec(this.host, this.container, command, {
      user: this.user,
      env: Object.entries({ TMPDIR: '/tmp', ...opts.env }).map(([k, v]) => `${k}=${v}`),
      workingDir: posix.join(this.repoPath, safeRel(opts.cwd ?? '')),
      timeoutMs: opts.timeoutMs ?? 120_000,
      maxOutputBytes: opts.maxOutputBytes ?? MiB,
      stdin: opts.stdin,
      stdinFile: opts.stdinFile,
      stdoutFile: opts.stdoutFile,
      maxFileBytes: opts.maxFileBytes,
    });
  }

  async readFile(rel: string): Promise<Buffer | null> {
    this.assertLive();
    const path = safeRel(rel);
    return this.serial(() =>
      this.host.readFrom(this.container, posix.join(this.repoPath, path), rel),
    );
  }

  async writeFile(rel: string, data: string | Buffer): Promise<void> {
    this.assertLive();
    const path = safeRel(rel);
    if (!path) throw new UsageError('cannot write the repository root');
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length > this.host.maxFileBytes) {
      throw new UsageError(`${rel}: more than ${this.host.maxFileBytes} bytes`);
    }
    return this.serial(async () => {
      const abs = posix.join(this.repoPath, path);
      const dir = posix.dirname(abs);
      const ids = await this.userIds();
      // An existing file keeps its mode (an executable script stays executable).
      let mode = 0o644;
      const stat = await this.statPath(abs);
      if (stat) {
        if (stat.kind !== 'file') throw new UsageError(`not a regular file in the sandbox: ${rel}`);
        mode = stat.mode & 0o7777;
      }
      const tar = tarOneFile(posix.basename(abs), bytes, { mode, ...ids });
      const put = () =>
        this.host.call(`write ${rel}`, (abortSignal) =>
          this.container.putArchive(tar, { path: dir, abortSignal }),
        );
      try {
        await put();
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        const r = await runExec(this.host, this.container, `mkdir -p -- ${shellQuote(dir)}`, {
          user: this.user,
          env: [],
          workingDir: '/',
          timeoutMs: 30_000,
          maxOutputBytes: 4096,
        });
        if (r.exitCode !== 0) {
          throw new UsageError(`could not write ${rel} in the sandbox: ${r.stderr.trim()}`);
        }
        await put();
      }
    });
  }

  /** Numeric ids of the container's user: files written through the archive API get them. */
  private async userIds(): Promise<{ uid: number; gid: number }> {
    if (this.ids) return this.ids;
    const r = await runExec(this.host, this.container, 'id -u; id -g', {
      user: this.user,
      env: [],
      workingDir: '/',
      timeoutMs: 30_000,
      maxOutputBytes: 4096,
    });
    const [uid, gid] = r.stdout.trim().split(/\s+/).map(Number);
    this.ids = Number.isInteger(uid) && Number.isInteger(gid) ? { uid: uid!, gid: gid! } : null;
    return this.ids ?? { uid: 0, gid: 0 };
  }

  /** The daemon's stat of a container path (HEAD archive), or null if absent. */
  private async statPath(abs: string): Promise<{ kind: string; mode: number } | null> {
    let res: { headers?: Record<string, string | string[] | undefined>; resume?: () => void };
    try {
      res = (await this.host.call(`stat ${abs}`, (abortSignal) =>
        this.container.infoArchive({ path: abs, abortSignal }),
      )) as typeof res;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
    res.resume?.();
    const header = res.headers?.['x-docker-container-path-stat'];
    if (typeof header !== 'string') return null;
    // Go's os.FileMode: permission bits low, type bits high.
    const st = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mode: number };
    const m = st.mode >>> 0;
    const kind =
      m & (2 ** 31) ? 'dir' : m & (2 ** 27) ? 'symlink' : m & 0x8f280000 ? 'other' : 'file';
    return { kind, mode: m & 0o7777 };
  }

  applyPatch(diff: string, opts: { check?: boolean; reverse?: boolean } = {}) {
    return this.applyPatches([diff], opts);
  }

  async applyPatches(
    diffs: string[],
    opts: { check?: boolean; reverse?: boolean } = {},
  ): Promise<ApplyResult & { failedIndex?: number }> {
    this.assertLive();
    if (diffs.length === 0) return { ok: true, message: '' };
    const tag = `p${randomBytes(4).toString('hex')}`;
    for (const [i, d] of diffs.entries()) {
      const tar = tarOneFile(`${tag}-${i}.diff`, Buffer.from(d), { mode: 0o444 });
      await this.serial(() =>
        this.host.call('copy a patch into the container', (abortSignal) =>
          this.container.putArchive(tar, { path: TMP_DIR, abortSignal }),
        ),
      );
    }
    // The patch files go whatever happens (a bug's diff must not outlive its apply).
    const script =
      `trap 'rm -f ${TMP_DIR}/${tag}-*.diff' EXIT\n` +
      gitApplyScript(
        diffs.map((_, i) => `${TMP_DIR}/${tag}-${i}.diff`),
        opts,
      );
    return applyOutcome(await this.exec(script, { timeoutMs: 60_000 }));
  }

  /**
   * Git-style diff of the repository against the original image's (or, with 'start', this
   * sandbox's snapshot's) files: the container's files are listed and hashed, compared with
   * the manifest kept on the host, and only changed files are read: the new side from this
   * container, the old side from a reference container of that snapshot's image in which no
   * command runs. Nothing of the old state is kept where the sandbox's commands can read it.
   */
  diff(opts: { against?: 'original' | 'start' } = {}): Promise<string> {
    this.assertLive();
    const base = opts.against === 'start' ? this.base : this.base.root;
    return this.serial(async () => {
      const now = await this.host.manifestOf(this.container, this.repoPath);
      const changed = new Set<string>();
      for (const [p, e] of now) {
        const b = base.manifest.get(p);
        if (!b || b.hash !== e.hash || b.mode !== e.mode) changed.add(p);
      }
      for (const p of base.manifest.keys()) if (!now.has(p)) changed.add(p);
      if (changed.size === 0) return '';
      const reference = await this.host.referenceOf(base);
      const side = async (
        entry: ManifestEntry | undefined,
        container: Dockerode.Container,
        p: string,
      ): Promise<{ mode: ManifestEntry['mode']; data: Buffer } | null> => {
        if (!entry) return null;
        if (entry.mode === '120000') {
          return { mode: entry.mode, data: Buffer.from(entry.hash.slice('link:'.length)) };
        }
        const data = await this.host.readFrom(container, posix.join(this.repoPath, p), p);
        return data ? { mode: entry.mode, data } : null;
      };
      let out = '';
      for (const p of [...changed].sort()) {
        const before = await side(base.manifest.get(p), reference, p);
        const after = await side(now.get(p), this.container, p);
        out += formatFileDiff(p, before, after);
        if (out.length > this.host.maxDiffBytes) {
          throw new UsageError(
            `diff of sandbox ${this.id} exceeds ${this.host.maxDiffBytes} bytes`,
          );
        }
      }
      return out;
    });
  }

  snapshot(): Promise<DockerSnapshot> {
    this.assertLive();
    return this.serial(() => this.snapshotNow());
  }

  private async snapshotNow(): Promise<DockerSnapshot> {
    const manifest = await this.host.manifestOf(this.container, this.repoPath);
    const image = await this.host.commit(this.container);
    return {
      backend: 'docker',
      id: `${this.id.slice(0, 12)}-snap${++this.snapCount}`,
      layers: [],
      image,
      manifest,
      repoPath: this.repoPath,
      sourceDir: this.base.root.sourceDir,
      root: this.base.root,
      user: this.user,
    } as DockerSnapshot;
  }

  /** A new container from a commit of this one (a new image layer: no copy of the repo). */
  async fork(): Promise<DockerSandbox> {
    const snap = await this.snapshot();
    // The child removes the image when it is disposed, whether or not its container started.
    const child = this.host.create(snap);
    child.ownedImages.push(snap.image);
    for (const [name, e] of this.exposed) child.exposed.set(name, { ...e, uploaded: null });
    return child;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      // Not behind the queue: a running command dies with its container (forced removal)
      // instead of being waited for; what was queued behind it is refused.
      await this.ready.catch(() => undefined);
      if (this.started) await this.host.removeContainer(this.started);
      await this.queue.catch(() => undefined);
      for (const image of this.ownedImages.splice(0)) {
        // An image a later fork descends from stays until the host closes.
        await this.host.removeImage(image).catch(() => undefined);
      }
    } finally {
      this.host.forget(this);
    }
  }
}
