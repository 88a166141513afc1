/**
 * Builds container images for tests and benchmarks without a registry or a Docker daemon:
 * a minimal root filesystem copied from the host, packed as an OCI layout (directory) or a
 * `docker save` tarball, with sha256 digests, a config carrying Env and WorkingDir, and as many
 * layers as asked (whiteouts are plain `.wh.` files in a layer directory).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { create as createTar } from 'tar';

export interface ImageConfig {
  env: string[];
  workingDir?: string;
}

export interface LayerInput {
  dir: string;
  /** Use this ready-made (uncompressed) tar instead of packing `dir`. */
  tar?: string;
  /** gzip the blob (OCI only: `docker save` layers are plain tars). */
  gzip?: boolean;
}

interface PackedLayer {
  file: string;
  blobHex: string;
  diffHex: string;
  size: number;
  gzip: boolean;
}

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Every entry of `dir` as a tar (plain, and gzipped when asked) in `work`. */
async function packLayer(layer: LayerInput, work: string, n: number): Promise<PackedLayer> {
  const tarFile = join(work, `layer-${n}.tar`);
  if (layer.tar) copyFileSync(layer.tar, tarFile);
  else
    await createTar(
      { cwd: layer.dir, file: tarFile, portable: true },
      readdirSync(layer.dir).sort(),
    );
  const diffHex = await fileSha256(tarFile);
  if (!layer.gzip) {
    return { file: tarFile, blobHex: diffHex, diffHex, size: statSync(tarFile).size, gzip: false };
  }
  const gz = `${tarFile}.gz`;
  await pipeline(createReadStream(tarFile), createGzip({ level: 1 }), createWriteStream(gz));
  rmSync(tarFile);
  return { file: gz, blobHex: await fileSha256(gz), diffHex, size: statSync(gz).size, gzip: true };
}

function configJson(config: ImageConfig, layers: PackedLayer[]): string {
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: config.env, WorkingDir: config.workingDir ?? '', Cmd: ['/bin/bash'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diffHex}`) },
  });
}

export interface OciOptions {
  /** Wrap the manifest in a nested index with an arm64 decoy and an attestation entry. */
  multiPlatform?: boolean;
}

/** An OCI image layout at `out` (a directory). */
export async function writeOciLayout(
  out: string,
  layers: LayerInput[],
  config: ImageConfig,
  opts: OciOptions = {},
): Promise<void> {
  const blobs = join(out, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const work = join(out, '.work');
  mkdirSync(work);
  const packed: PackedLayer[] = [];
  for (const [i, l] of layers.entries()) packed.push(await packLayer(l, work, i));
  const putBlob = (data: string | Buffer) => {
    const hex = sha256(data);
    writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
  };
  for (const l of packed) renameSync(l.file, join(blobs, l.blobHex));
  rmSync(work, { recursive: true });
  const cfg = putBlob(configJson(config, packed));
  const manifest = putBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: packed.map((l) => ({
        mediaType: `application/vnd.oci.image.layer.v1.tar${l.gzip ? '+gzip' : ''}`,
        digest: `sha256:${l.blobHex}`,
        size: l.size,
      })),
    }),
  );
  const manifestDesc = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...manifest,
    platform: { architecture: 'amd64', os: 'linux' },
  };
  let top: object = manifestDesc;
  if (opts.multiPlatform) {
    const decoy = putBlob(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }));
    const nested = putBlob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...decoy,
            platform: { architecture: 'arm64', os: 'linux' },
          },
          manifestDesc,
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...decoy,
            platform: { architecture: 'unknown', os: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
          },
        ],
      }),
    );
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...nested };
  }
  writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
}

/** A `docker save` tarball (the classic layout: `<id>/layer.tar`, `<config hex>.json`). */
export async function writeDockerSave(
  outTar: string,
  layers: LayerInput[],
  config: ImageConfig,
): Promise<void> {
  const work = `${outTar}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const packed: PackedLayer[] = [];
  for (const [i, l] of layers.entries())
    packed.push(await packLayer({ ...l, gzip: false }, work, i));
  const names: string[] = [];
  for (const l of packed) {
    mkdirSync(join(work, l.diffHex));
    renameSync(l.file, join(work, l.diffHex, 'layer.tar'));
    names.push(`${l.diffHex}/layer.tar`);
  }
  const cfg = configJson(config, packed);
  const cfgName = `${sha256(cfg)}.json`;
  writeFileSync(join(work, cfgName), cfg);
  writeFileSync(
    join(work, 'manifest.json'),
    JSON.stringify([{ Config: cfgName, RepoTags: ['ssr-test:latest'], Layers: names }]),
  );
  await createTar({ cwd: work, file: outTar, portable: true }, readdirSync(work).sort());
  rmSync(work, { recursive: true });
}

/** Packs a directory (e.g. an OCI layout) into a plain tar. */
export async function tarDirectory(dir: string, outTar: string): Promise<void> {
  await createTar({ cwd: dir, file: outTar, portable: true }, readdirSync(dir).sort());
}

/** Copies a host file into `root` at the same path, through the host's top-level symlinks. */
function copyIn(root: string, hostPath: string, asPath = hostPath): void {
  const dir = existsSync(dirname(asPath)) ? realpathSync(dirname(asPath)) : dirname(asPath);
  const to = join(root, dir.slice(1), basename(asPath));
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(realpathSync(hostPath), to);
  execFileSync('chmod', ['--reference', realpathSync(hostPath), to]);
}

function sharedLibs(files: string[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    let text = '';
    try {
      text = execFileSync('ldd', [f], { encoding: 'utf8' });
    } catch {
      continue; // static, or not an ELF file
    }
    for (const m of text.matchAll(/(\/\S+) \(0x/g)) out.add(m[1]!);
  }
  return [...out];
}

const COREUTILS = [
  'bash',
  'cat',
  'ls',
  'mkdir',
  'dirname',
  'basename',
  'rm',
  'env',
  'echo',
  'readlink',
  'head',
  'tail',
  'mktemp',
  'cp',
  'mv',
  'test',
  'true',
  'false',
  'sed',
  'grep',
  'wc',
  'sort',
  'tr',
  'touch',
  'chmod',
  'ln',
  'pwd',
  'id',
  'sleep',
  'printf',
  'stat',
  'find',
  'xargs',
  'diff',
];

export interface RootfsOptions {
  /** node at IMAGE_NODE (a path the host does not use), git, python3 + stdlib. */
  toolchain?: boolean;
}

/**
 * A minimal Debian-like root (merged /usr) from the host's binaries and their shared
 * libraries: bash and coreutils; with `toolchain`, node, git and python3 with its stdlib.
 */
export function buildMinimalRootfs(root: string, opts: RootfsOptions = {}): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'etc', 'tmp', 'root']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    symlinkSync(target, join(root, link));
  }
  const bins = COREUTILS.map((b) => `/usr/bin/${b}`).filter((b) => existsSync(b));
  for (const b of bins) copyIn(root, b);
  symlinkSync('bash', join(root, 'usr/bin/sh'));
  const elfs = [...bins];
  if (opts.toolchain) {
    // The node running the tests and the system python3, whatever their versions and paths.
    const node = realpathSync(process.execPath);
    copyIn(root, node, IMAGE_NODE);
    copyIn(root, '/usr/bin/git');
    const python = realpathSync('/usr/bin/python3');
    const py = basename(python);
    copyIn(root, python, `/usr/bin/${py}`);
    symlinkSync(py, join(root, 'usr/bin/python3'));
    cpSync(`/usr/lib/${py}`, join(root, `usr/lib/${py}`), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !/\/python3\.\d+\/(test|idlelib|tkinter|ensurepip|lib2to3)(\/|$)/.test(src),
    });
    const dynload = join(root, `usr/lib/${py}/lib-dynload`);
    elfs.push(
      node,
      '/usr/bin/git',
      python,
      ...readdirSync(dynload).map((f) => join(`/usr/lib/${py}/lib-dynload`, f)),
    );
  }
  for (const lib of sharedLibs(elfs)) copyIn(root, lib);
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nssr:x:1000:1000:ssr:/tmp:/bin/bash\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nssr:x:1000:\n');
  // The sandbox sets LC_ALL=C.UTF-8; Debian keeps that locale here.
  if (existsSync('/usr/lib/locale/C.utf8')) {
    cpSync('/usr/lib/locale/C.utf8', join(root, 'usr/lib/locale/C.utf8'), { recursive: true });
  }
}

/** Where images built here keep their node: a path no host uses, so a test can tell them apart. */
export const IMAGE_NODE = '/opt/ssr-image/bin/node';
export const IMAGE_PATH_ENV = 'PATH=/opt/ssr-image/bin:/usr/local/bin:/usr/bin:/bin';

/** Builds `out` with `build(staging)` unless it exists; atomic, so reruns reuse it. */
export async function cached(
  out: string,
  build: (staging: string) => Promise<void>,
): Promise<string> {
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  await build(staging);
  try {
    renameSync(staging, out);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process built it first
  }
  return out;
}

export const FIXTURES = '/tmp/ssr-fixtures';

export interface TestImages {
  /** OCI layout directory: base layer (plain tar) + a gzipped layer with whiteouts. */
  oci: string;
  /** The same two layers as a `docker save` tarball. */
  dockerSave: string;
}

/**
 * The test image: a toolchain root with the textkit example repo at /testbed and a marker in
 * /etc; its second layer deletes /testbed/DELETE_ME.txt (whiteout), makes /opt/gone opaque
 * (only new.txt survives) and adds /etc/ssr-layer2.
 */
export async function textkitImages(repoDir: string): Promise<TestImages> {
  const dir = await cached(join(FIXTURES, 'image-textkit-v3'), async (staging) => {
    const base = join(staging, 'src', 'base');
    const top = join(staging, 'src', 'top');
    buildMinimalRootfs(base, { toolchain: true });
    cpSync(repoDir, join(base, 'testbed'), { recursive: true });
    writeFileSync(join(base, 'testbed/DELETE_ME.txt'), 'deleted by the upper layer\n');
    writeFileSync(join(base, 'etc/ssr-image-marker'), 'image-textkit-v3\n');
    mkdirSync(join(base, 'opt/gone'), { recursive: true });
    mkdirSync(join(base, 'opt/keep'), { recursive: true });
    writeFileSync(join(base, 'opt/gone/a.txt'), 'a\n');
    writeFileSync(join(base, 'opt/gone/b.txt'), 'b\n');
    writeFileSync(join(base, 'opt/keep/k.txt'), 'k\n');
    for (const d of ['testbed', 'opt/gone', 'etc']) mkdirSync(join(top, d), { recursive: true });
    writeFileSync(join(top, 'testbed/.wh.DELETE_ME.txt'), '');
    writeFileSync(join(top, 'opt/gone/.wh..wh..opq'), '');
    writeFileSync(join(top, 'opt/gone/new.txt'), 'new\n');
    writeFileSync(join(top, 'etc/ssr-layer2'), 'layer 2\n');
    const config = { env: [IMAGE_PATH_ENV, 'SSR_IMAGE=textkit'], workingDir: '/testbed' };
    await writeOciLayout(join(staging, 'oci'), [{ dir: base }, { dir: top, gzip: true }], config);
    await writeDockerSave(join(staging, 'docker-save.tar'), [{ dir: base }, { dir: top }], config);
    rmSync(join(staging, 'src'), { recursive: true });
  });
  return { oci: join(dir, 'oci'), dockerSave: join(dir, 'docker-save.tar') };
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
