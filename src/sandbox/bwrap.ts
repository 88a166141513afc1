import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Host top-level directories the sandbox sees (read-only): toolchains and system config. */
const VISIBLE_ROOT_DIRS = new Set([
  'usr',
  'bin',
  'sbin',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'etc',
  'opt',
  'var',
]);

/** Files under /etc that hold host secrets; each is replaced by an empty file. */
const MASKED_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-'];
/** Directories under /etc (or /var) that hold keys; each is replaced by an empty tmpfs. */
const MASKED_DIRS = ['/etc/ssl/private', '/var/lib/sudo', '/var/log', '/var/mail', '/var/spool'];

/**
 * Package caches of the user that test commands may read (never write): offline builds need
 * them, and the home directory that holds them is not in the sandbox. Maven's local repository
 * is the one runner cache with no system-wide place (Go, Cargo and npm read the repository's
 * own vendor or node_modules directories).
 */
export const PACKAGE_CACHES: { host: string; sandbox: string }[] = [
  { host: join(homedir(), '.m2', 'repository'), sandbox: '/ssr/cache/m2' },
];

export interface Bind {
  host: string;
  sandbox: string;
  readOnly?: boolean;
}

export interface BwrapPlan {
  repoHostDir: string;
  repoMount: string;
  tmpHostDir: string;
  cwd: string;
  env: Record<string, string>;
  binds?: Bind[];
  network?: boolean;
  /** An image's root filesystem to use instead of the host's system directories. */
  rootfs?: string;
}

/** Uid the commands run as inside the sandbox: not root, so files keep their permissions. */
export const SANDBOX_UID = 1000;

let rootArgsCache: string[] | undefined;

/** The host's system directories, read-only, plus masks over the secrets they hold. */
function rootFilesystemArgs(): string[] {
  if (rootArgsCache) return rootArgsCache;
  const args: string[] = [];
  for (const name of readdirSync('/').sort()) {
    const path = `/${name}`;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink() && VISIBLE_ROOT_DIRS.has(name)) {
      args.push('--symlink', readlinkSync(path), path);
    } else if (st.isDirectory() && VISIBLE_ROOT_DIRS.has(name)) {
      args.push('--ro-bind', path, path);
    }
  }
  for (const f of MASKED_FILES) if (existsSync(f)) args.push('--ro-bind', '/dev/null', f);
  for (const d of MASKED_DIRS) if (existsSync(d)) args.push('--tmpfs', d);
  if (existsSync('/etc/ssh')) {
    for (const name of readdirSync('/etc/ssh')) {
      if (/_key$/.test(name)) args.push('--ro-bind', '/dev/null', join('/etc/ssh', name));
    }
  }
  rootArgsCache = args;
  return args;
}

/** Top-level names the sandbox provides itself, whatever an image holds there. */
const SANDBOX_OWNED = new Set(['dev', 'proc', 'tmp', 'run', 'ssr']);

const imageArgsCache = new Map<string, string[]>();

/**
 * An image's top-level entries, read-only, on bwrap's tmpfs root (the same shape as the host
 * case, so /tmp, /dev, /ssr and the repo mount point need no directories in the shared image
 * cache). Top-level symlinks are recreated, never bound: the host would resolve them outside
 * the image. The repo's own top-level directory is left to the repo mount.
 */
function imageRootArgs(rootfs: string, repoMount: string): string[] {
  const key = `${rootfs}\0${repoMount}`;
  const cached = imageArgsCache.get(key);
  if (cached) return cached;
  const args: string[] = [];
  for (const name of readdirSync(rootfs).sort()) {
    if (SANDBOX_OWNED.has(name) || `/${name}` === repoMount) continue;
    const host = join(rootfs, name);
    const st = lstatSync(host);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(host), `/${name}`);
    else if (st.isDirectory() || st.isFile()) args.push('--ro-bind', host, `/${name}`);
  }
  // Image rootfs directories are content-addressed and never change: cache for good.
  imageArgsCache.set(key, args);
  return args;
}

/** bwrap argv (without the command) that runs in the repo with only the workspace writable. */
export function bwrapArgs(bwrap: string, plan: BwrapPlan): string[] {
  const args = [
    bwrap,
    ...(plan.rootfs ? imageRootArgs(plan.rootfs, plan.repoMount) : rootFilesystemArgs()),
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/run',
    '--bind',
    plan.tmpHostDir,
    '/tmp',
    '--bind',
    plan.repoHostDir,
    plan.repoMount,
  ];
  if (!plan.rootfs) {
    for (const c of PACKAGE_CACHES)
      if (existsSync(c.host)) args.push('--ro-bind', c.host, c.sandbox);
  }
  for (const b of plan.binds ?? [])
    args.push(b.readOnly === false ? '--bind' : '--ro-bind', b.host, b.sandbox);
  // bwrap's root is a tmpfs the command could write (and fill memory with): once every mount
  // point above exists, make it read-only. /tmp, the repo, /run and /dev stay writable.
  args.push('--remount-ro', '/');
  args.push(
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'ssr-sandbox',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
  );
  if (!plan.network) args.push('--unshare-net');
  for (const [k, v] of Object.entries(plan.env)) args.push('--setenv', k, v);
  args.push('--chdir', plan.cwd, '--');
  return args;
}

/**
 * What a sandbox with a memory limit adds: the JVM sizes its heap from the machine's memory
 * (a quarter of it), since it cannot see the sandbox's cgroup, and a JVM sized for the host is
 * killed by the limit (Maven's forked test JVM exits 137). `-XX:MaxRAM` is the limit a
 * container would show it. Java prints one "Picked up JAVA_TOOL_OPTIONS" line on stderr.
 */
export function memoryLimitEnvironment(
  memoryBytes: number,
  inherited: Record<string, string> = {},
): Record<string, string> {
  if (inherited.JAVA_TOOL_OPTIONS !== undefined) return {};
  return { JAVA_TOOL_OPTIONS: `-XX:MaxRAM=${memoryBytes}` };
}

/**
 * The environment every sandboxed command starts from: nothing inherited from the host. It sets
 * nothing that changes what a program does (no colour switches, no TZ): a neutral UTF-8 locale,
 * CI=true as on the project's own CI, and Python's bytecode/buffering switches, which change
 * only where files go and when output appears.
 */
export function baseEnvironment(home: string): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    USER: 'ssr',
    LOGNAME: 'ssr',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    CI: 'true',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
  };
}
