/**
 * Image environments: a sandbox whose `/` is an image's root filesystem (OCI layout or
 * `docker save` tarball, unpacked once into a cache) with the repository at /testbed.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readArtifact } from '../src/artifact/artifact.js';
import { prepareImage } from '../src/image/index.js';
import { type ImageSnapshot, SandboxHost } from '../src/sandbox/local.js';
import { validateArtifact } from '../src/validate/validator.js';
import {
  IMAGE_NODE,
  IMAGE_PATH_ENV,
  readJson,
  type TestImages,
  tarDirectory,
  textkitImages,
  writeDockerSave,
  writeOciLayout,
} from './helpers/make-image.js';
import { assertValid, PROJECT_ROOT } from './helpers/validation.js';

const TEXTKIT = join(PROJECT_ROOT, 'examples/repos/textkit');

let work: string;
let cacheDir: string;
let host: SandboxHost;
let images: TestImages;
let snap: ImageSnapshot;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ssr-image-test-'));
  cacheDir = join(work, 'cache');
  images = await textkitImages(TEXTKIT);
  host = SandboxHost.open();
  snap = await host.snapshotImage(images.oci, { cacheDir, repoPath: '/testbed' });
});

after(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A small one- or two-layer OCI image for format and error cases (no toolchain). */
async function tinyImage(
  name: string,
  opts: { multiPlatform?: boolean; extraLayer?: { tar: string } } = {},
): Promise<string> {
  const base = join(work, `${name}-base`);
  mkdirSync(join(base, 'testbed'), { recursive: true });
  mkdirSync(join(base, 'usr/bin'), { recursive: true });
  symlinkSync('usr/bin', join(base, 'bin'));
  writeFileSync(join(base, 'testbed/hello.txt'), `hello from ${name}\n`);
  const out = join(work, name);
  const layers = [{ dir: base }, ...(opts.extraLayer ? [{ dir: base, ...opts.extraLayer }] : [])];
  await writeOciLayout(out, layers, { env: [IMAGE_PATH_ENV] }, opts);
  return out;
}

function blobPath(oci: string, digest: string): string {
  return join(oci, 'blobs/sha256', digest.replace(/^sha256:/, ''));
}

function manifestOf(oci: string): { config: { digest: string }; layers: { digest: string }[] } {
  const index = readJson(join(oci, 'index.json')) as { manifests: { digest: string }[] };
  return readJson(blobPath(oci, index.manifests[0]!.digest)) as ReturnType<typeof manifestOf>;
}

describe('image sandboxes', () => {
  test("the image's own node runs the repo's test suite, with the image's PATH", async () => {
    assert.equal(existsSync(IMAGE_NODE), false, 'the host must not have this node');
    const sb = host.create(snap);
    try {
      assert.equal(sb.repoPath, '/testbed');
      const r = await sb.exec(
        'cat /etc/ssr-image-marker; echo "$PATH|$HOME|$SSR_IMAGE|$(id -u)|$PWD"; ' +
          `node -e "console.log(require('fs').readlinkSync('/proc/self/exe'))"`,
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'image-textkit-v3',
        `${IMAGE_PATH_ENV.slice('PATH='.length)}|/tmp|textkit|1000|/testbed`,
        IMAGE_NODE,
      ]);
      const t = await sb.exec('node --test test/ 2>&1');
      assert.equal(t.exitCode, 0, t.stdout);
      assert.match(t.stdout, /# pass [1-9]/);
      assert.match(t.stdout, /# fail 0/);
    } finally {
      await sb.dispose();
    }
  });

  test('whiteouts of the upper layer are honoured', async () => {
    const sb = host.create(snap);
    try {
      const r = await sb.exec(
        'ls -A /testbed; echo --; ls /opt/gone; echo --; ls /opt/keep; cat /etc/ssr-layer2',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      const [testbed, gone, keep] = r.stdout.split('--\n');
      assert.doesNotMatch(testbed!, /DELETE_ME|\.wh\./);
      assert.equal(gone, 'new.txt\n');
      assert.equal(keep, 'k.txt\nlayer 2\n');
      assert.equal(existsSync(join(snap.image.rootfs, 'testbed/DELETE_ME.txt')), false);
    } finally {
      await sb.dispose();
    }
  });

  test('the image is read-only outside the repo; repo writes stay in the sandbox', async () => {
    const sb = host.create(snap);
    try {
      const r = await sb.exec(
        'touch /usr/x 2>/dev/null && echo usr-writable; touch /etc/x 2>/dev/null && echo etc-writable; ' +
          'echo changed >> README.new && echo tmp > /tmp/t && cat /tmp/t',
      );
      assert.equal(r.stdout, 'tmp\n');
      assert.equal(existsSync(join(snap.image.rootfs, 'testbed/README.new')), false);
      assert.match(await sb.diff(), /\+\+\+ b\/README\.new/);
      assert.equal((await sb.readFile('README.new'))?.toString(), 'changed\n');
      const applied = await sb.applyPatch(
        '--- a/README.new\n+++ b/README.new\n@@ -1 +1 @@\n-changed\n+patched\n',
      );
      assert.ok(applied.ok, applied.message);
      const child = await sb.fork();
      try {
        assert.equal(
          (await child.exec('cat README.new; cat /etc/ssr-image-marker')).stdout,
          'patched\nimage-textkit-v3\n',
        );
        assert.equal(child.repoPath, '/testbed');
      } finally {
        await child.dispose();
      }
    } finally {
      await sb.dispose();
    }
  });

  test('validateArtifact validates the textkit example against the image', async () => {
    const artifact = readArtifact(join(PROJECT_ROOT, 'examples/artifacts/textkit-wrap-width'));
    const report = await validateArtifact(artifact, { host, snapshot: snap });
    assertValid(report);
  });
});

describe('image cache', () => {
  test('a second snapshot reuses the cache; docker save of the same layers too', async () => {
    assert.equal(snap.image.unpackedLayers, 2);
    assert.equal(snap.image.builtRootfs, true);
    assert.equal(snap.image.format, 'oci');
    const rootfsBefore = statSync(snap.image.rootfs);
    const layersBefore = readdirSync(join(cacheDir, 'layers')).map((d) =>
      statSync(join(cacheDir, 'layers', d)),
    );
    const again = await host.snapshotImage(images.oci, { cacheDir });
    const docker = await host.snapshotImage(images.dockerSave, { cacheDir });
    for (const s of [again, docker]) {
      assert.equal(s.image.unpackedLayers, 0);
      assert.equal(s.image.builtRootfs, false);
      assert.equal(s.image.rootfs, snap.image.rootfs);
    }
    assert.equal(docker.image.format, 'docker-save');
    const rootfsAfter = statSync(snap.image.rootfs);
    assert.equal(rootfsAfter.ino, rootfsBefore.ino);
    assert.equal(rootfsAfter.mtimeMs, rootfsBefore.mtimeMs);
    const layersAfter = readdirSync(join(cacheDir, 'layers')).map((d) =>
      statSync(join(cacheDir, 'layers', d)),
    );
    assert.deepEqual(
      layersAfter.map((s) => [s.ino, s.mtimeMs]),
      layersBefore.map((s) => [s.ino, s.mtimeMs]),
    );
    assert.deepEqual(readdirSync(join(cacheDir, 'tmp')), []);
    const sb = host.create(docker);
    try {
      assert.equal((await sb.exec('ls /opt/gone')).stdout.trim(), 'new.txt');
    } finally {
      await sb.dispose();
    }
  });

  test('a docker save tarball unpacks on its own (fresh cache)', async () => {
    const fresh = join(work, 'cache-docker');
    const s = await host.snapshotImage(images.dockerSave, { cacheDir: fresh });
    assert.equal(s.image.unpackedLayers, 2);
    const sb = host.create(s);
    try {
      const r = await sb.exec(
        'cat /etc/ssr-layer2; ls /opt/gone; test -e DELETE_ME.txt || echo ok',
      );
      assert.equal(r.stdout, 'layer 2\nnew.txt\nok\n');
    } finally {
      await sb.dispose();
    }
  });

  test('an OCI layout packed as a tar, behind a multi-platform index', async () => {
    const oci = await tinyImage('multi', { multiPlatform: true });
    const tarPath = `${oci}.tar`;
    await tarDirectory(oci, tarPath);
    const fresh = join(work, 'cache-multi');
    const s = await host.snapshotImage(tarPath, { cacheDir: fresh });
    assert.equal(s.image.unpackedLayers, 1);
    assert.equal(
      readFileSync(join(s.image.rootfs, 'testbed/hello.txt'), 'utf8'),
      'hello from multi\n',
    );
    assert.equal(lstatSync(join(s.image.rootfs, 'bin')).isSymbolicLink(), true);
  });

  test('two processes unpacking the same image at once both succeed', async () => {
    const oci = await tinyImage('race');
    const fresh = join(work, 'cache-race');
    const script =
      `import { prepareImage } from ${JSON.stringify(join(PROJECT_ROOT, 'src/image/index.ts'))};\n` +
      `const r = await prepareImage(${JSON.stringify(oci)}, { cacheDir: ${JSON.stringify(fresh)} });\n` +
      'console.log(r.rootfs);\n';
    const run = () =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: PROJECT_ROOT,
        },
      );
    const [a, b] = await Promise.all([run(), run()]);
    assert.equal(a.stdout, b.stdout);
    assert.equal(
      readFileSync(join(a.stdout.trim(), 'testbed/hello.txt'), 'utf8'),
      'hello from race\n',
    );
    assert.deepEqual(readdirSync(join(fresh, 'tmp')), []);
  });
});

describe('image safety and errors', () => {
  test('entries with absolute or .. paths, devices and writes through symlinks are kept out', async () => {
    const evil = join(work, 'evil.tar');
    // Python's tarfile writes what node-tar (rightly) refuses to create.
    execFileSync('python3', [
      '-c',
      `
import io, tarfile, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, data=b'x', **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    if i.type == tarfile.REGTYPE: i.size = len(data); t.addfile(i, io.BytesIO(data))
    else: t.addfile(i)
add('../escaped.txt')
add('/abs.txt')
add('testbed/../../escaped2.txt')
add('dev-null', type=tarfile.CHRTYPE, devmajor=1, devminor=3)
add('suid', mode=0o4755)
add('link', type=tarfile.SYMTYPE, linkname='/etc')
add('link/passwd', b'pwned')
add('hard', type=tarfile.LNKTYPE, linkname='../outside')
add('ok.txt', b'fine')
t.close()
`,
      evil,
    ]);
    const oci = await tinyImage('evil', { extraLayer: { tar: evil } });
    const fresh = join(work, 'cache-evil');
    const image = await prepareImage(oci, { cacheDir: fresh });
    const root = image.rootfs;
    assert.equal(readFileSync(join(root, 'ok.txt'), 'utf8'), 'fine');
    assert.equal(readFileSync(join(root, 'testbed/hello.txt'), 'utf8'), 'hello from evil\n');
    for (const p of ['abs.txt', 'dev-null', 'hard', 'escaped.txt', 'escaped2.txt']) {
      assert.equal(existsSync(join(root, p)), false, p);
    }
    assert.equal(existsSync(join(fresh, 'escaped.txt')), false);
    assert.equal(existsSync(join(fresh, 'escaped2.txt')), false);
    assert.equal(existsSync(join(fresh, 'layers', 'escaped.txt')), false);
    assert.equal(lstatSync(join(root, 'link')).isSymbolicLink(), true);
    assert.notEqual(readFileSync('/etc/passwd', 'utf8'), 'pwned');
    assert.equal(statSync(join(root, 'suid')).mode & 0o7000, 0);
    assert.ok(image.skippedEntries >= 4, `skipped ${image.skippedEntries}`);
  });

  test('bad inputs give clear errors', async () => {
    const notImage = join(work, 'not-an-image');
    mkdirSync(notImage);
    const plain = join(work, 'plain.txt');
    writeFileSync(plain, 'hello');
    await assert.rejects(host.snapshotImage(join(work, 'nope')), /image not found/);
    await assert.rejects(
      host.snapshotImage(notImage),
      /not an image: .*manifest\.json.*index\.json/,
    );
    await assert.rejects(host.snapshotImage(plain), /not a tar file/);
    await assert.rejects(
      host.snapshotImage(images.oci, { cacheDir, repoPath: '/nowhere' }),
      /repo path \/nowhere does not exist in the image/,
    );
    await assert.rejects(
      host.snapshotImage(images.oci, { cacheDir, repoPath: '/etc/passwd' }),
      /is not a directory in the image/,
    );
    await assert.rejects(
      host.snapshotImage(images.oci, { cacheDir, repoPath: '/lib/x86_64-linux-gnu' }),
      /goes through a symlink/,
    );
    await assert.rejects(
      host.snapshotImage(images.oci, { cacheDir, repoPath: 'testbed' }),
      /must be an absolute path/,
    );
  });

  test('a missing blob is named', async () => {
    const oci = await tinyImage('missing');
    const layer = manifestOf(oci).layers[0]!.digest;
    rmSync(blobPath(oci, layer));
    await assert.rejects(
      prepareImage(oci, { cacheDir: join(work, 'cache-missing') }),
      new RegExp(`blob blobs/sha256/${layer.slice(7)} is missing`),
    );
  });

  test('a layer or config whose content does not match its digest is refused', async () => {
    const oci = await tinyImage('tampered');
    const fresh = join(work, 'cache-tampered');
    const m = manifestOf(oci);
    const layerFile = blobPath(oci, m.layers[0]!.digest);
    const pristine = readFileSync(layerFile);
    appendFileSync(layerFile, Buffer.alloc(1024));
    await assert.rejects(prepareImage(oci, { cacheDir: fresh }), /digest mismatch for layer/);
    assert.deepEqual(readdirSync(join(fresh, 'layers')), []);
    assert.deepEqual(readdirSync(join(fresh, 'rootfs')), []);
    assert.deepEqual(readdirSync(join(fresh, 'tmp')), []);
    writeFileSync(layerFile, pristine);
    const configFile = blobPath(oci, m.config.digest);
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('amd64', 'arm64'));
    await assert.rejects(prepareImage(oci, { cacheDir: fresh }), /digest mismatch for config/);
  });

  test('a docker save whose layer does not match the diff_id is refused', async () => {
    const base = join(work, 'ds-base');
    mkdirSync(join(base, 'testbed'), { recursive: true });
    writeFileSync(join(base, 'testbed/hello.txt'), 'hello\n');
    const good = join(work, 'good-ds');
    mkdirSync(good);
    await writeDockerSave(join(good, 'image.tar'), [{ dir: base }], { env: [IMAGE_PATH_ENV] });
    // Re-pack with a config naming another diff_id: the content no longer matches it.
    const unpacked = join(work, 'ds-unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xf', join(good, 'image.tar'), '-C', unpacked]);
    const manifest = readJson(join(unpacked, 'manifest.json')) as { Config: string }[];
    const cfgPath = join(unpacked, manifest[0]!.Config);
    const cfg = readJson(cfgPath) as { rootfs: { diff_ids: string[] } };
    cfg.rootfs.diff_ids = [`sha256:${'0'.repeat(64)}`];
    rmSync(cfgPath);
    writeFileSync(join(unpacked, 'config.json'), JSON.stringify(cfg));
    manifest[0]!.Config = 'config.json';
    writeFileSync(join(unpacked, 'manifest.json'), JSON.stringify(manifest));
    const bad = join(work, 'bad-ds.tar');
    await tarDirectory(unpacked, bad);
    await assert.rejects(
      prepareImage(bad, { cacheDir: join(work, 'cache-ds') }),
      /digest mismatch for layer .*diff_id/,
    );
  });
});

describe('the CLI on an image', () => {
  const cli = (args: string[]) =>
    promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, SSR_CACHE_DIR: join(work, 'cli-cache') } },
    );

  test('ssr validate --image validates an artifact against the image repo', async () => {
    const { stdout } = await cli([
      'validate',
      join(PROJECT_ROOT, 'examples/artifacts/textkit-wrap-width'),
      '--image',
      images.dockerSave,
      '--json',
    ]);
    const report = JSON.parse(stdout);
    assert.equal(report.valid, true, JSON.stringify(report.failedCheck));
  });

  test('--repo and --image together, or neither, is a usage error', async () => {
    for (const extra of [[], ['--repo', TEXTKIT, '--image', images.oci]]) {
      const err = await cli([
        'validate',
        join(PROJECT_ROOT, 'examples/artifacts/textkit-wrap-width'),
        ...extra,
      ]).then(
        () => assert.fail('should fail'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--repo <dir> or --image <path>/);
    }
  });
});
