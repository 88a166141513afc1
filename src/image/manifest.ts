import { UsageError } from '../util/errors.js';
import { digestHex, sha256Hex } from './digest.js';
import type { ImageSource } from './source.js';

/** One layer blob of an image, in order from the base up. */
export interface LayerRef {
  /** The blob inside the image source. */
  member: string;
  /** sha256 hex of the blob as stored (checked while unpacking), when the image states it. */
  blobHex?: string;
  /** sha256 hex of the uncompressed tar (the config's diff_id): the cache key. */
  diffHex: string;
}

export interface ImageDescription {
  format: 'docker-save' | 'oci';
  layers: LayerRef[];
  /** The config's Env, as `KEY=value` strings. */
  env: string[];
  workingDir: string;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

function parseJson(buf: Buffer, what: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new UsageError(`${what} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

/** A small blob read whole and checked against its digest before it is believed. */
function verifiedBlob(src: ImageSource, member: string, hex: string, what: string): Buffer {
  const data = src.read(member);
  const actual = sha256Hex(data);
  if (actual !== hex) {
    throw new UsageError(
      `${src.path}: digest mismatch for ${what} ${member}: expected sha256:${hex}, got sha256:${actual}`,
    );
  }
  return data;
}

function blobMember(digest: unknown, what: string): { member: string; hex: string } {
  const hex = digestHex(digest, what);
  return { member: `blobs/sha256/${hex}`, hex };
}

function configFields(config: Record<string, unknown>, what: string) {
  const rootfs = asObject(config.rootfs, `${what} rootfs`);
  const ids = rootfs.diff_ids;
  if (!Array.isArray(ids) || ids.length === 0) {
    throw new UsageError(`${what} lists no layers (rootfs.diff_ids)`);
  }
  const diffHexes = ids.map((d) => digestHex(d, `${what} diff_id`));
  const inner = (config.config ?? {}) as Record<string, unknown>;
  const env = Array.isArray(inner.Env) ? inner.Env.filter((e) => typeof e === 'string') : [];
  const workingDir = typeof inner.WorkingDir === 'string' ? inner.WorkingDir : '';
  return { diffHexes, env: env as string[], workingDir };
}

/** `docker save`: manifest.json names the config file and the layer tars in order. */
function describeDockerSave(src: ImageSource): ImageDescription {
  const manifest = parseJson(src.read('manifest.json'), `${src.path}: manifest.json`);
  if (!Array.isArray(manifest) || manifest.length === 0) {
    throw new UsageError(`${src.path}: manifest.json lists no image`);
  }
  if (manifest.length > 1) {
    const tags = manifest.map((m) => (m as { RepoTags?: string[] }).RepoTags?.join(',') ?? '?');
    throw new UsageError(
      `${src.path} holds ${manifest.length} images (${tags.join('; ')}); save one image per file`,
    );
  }
  const entry = asObject(manifest[0], `${src.path}: manifest.json entry`);
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
    throw new UsageError(`${src.path}: manifest.json entry lacks Config or Layers`);
  }
  // Docker names configs (and, since 25, every blob) by their digest: check it when it does.
  const hexOf = (name: string) => /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(name)?.[1];
  const configHex = hexOf(entry.Config);
  const configBuf = configHex
    ? verifiedBlob(src, entry.Config, configHex, 'config')
    : src.read(entry.Config);
  const what = `${src.path}: config`;
  const { diffHexes, env, workingDir } = configFields(
    asObject(parseJson(configBuf, what), what),
    what,
  );
  if (diffHexes.length !== entry.Layers.length) {
    throw new UsageError(
      `${src.path}: manifest.json lists ${entry.Layers.length} layers, the config ${diffHexes.length}`,
    );
  }
  const layers = entry.Layers.map((name, i): LayerRef => {
    if (typeof name !== 'string') throw new UsageError(`${src.path}: bad layer name in manifest`);
    if (!src.has(name)) throw new UsageError(`${src.path}: layer ${name} is missing`);
    const blob = name.startsWith('blobs/sha256/') ? hexOf(name) : undefined;
    return { member: name, diffHex: diffHexes[i]!, ...(blob ? { blobHex: blob } : {}) };
  });
  return { format: 'docker-save', layers, env, workingDir };
}

/** Picks linux/amd64 from an index, skipping attestations; a lone manifest is taken as is. */
function pickManifest(descs: Descriptor[], where: string): Descriptor {
  const images = descs.filter(
    (d) =>
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      d.platform?.os !== 'unknown',
  );
  if (images.length === 1) return images[0]!;
  const amd64 = images.filter(
    (d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64',
  );
  if (amd64[0]) return amd64[0];
  const platforms = images.map(
    (d) => `${d.platform?.os ?? '?'}/${d.platform?.architecture ?? '?'}`,
  );
  throw new UsageError(
    `${where} has no linux/amd64 image` +
      (platforms.length ? ` (it has ${platforms.join(', ')})` : ''),
  );
}

/** OCI layout: index.json -> (nested indexes) -> manifest -> config and layer blobs. */
function describeOci(src: ImageSource): ImageDescription {
  let doc = asObject(parseJson(src.read('index.json'), `${src.path}: index.json`), 'index.json');
  let where = `${src.path}: index.json`;
  for (let depth = 0; ; depth++) {
    const isIndex =
      Array.isArray(doc.manifests) ||
      (typeof doc.mediaType === 'string' && INDEX_TYPES.has(doc.mediaType));
    if (!isIndex) break;
    if (depth > 4) throw new UsageError(`${src.path}: image indexes nest too deeply`);
    const manifests = Array.isArray(doc.manifests) ? (doc.manifests as Descriptor[]) : [];
    if (manifests.length === 0) throw new UsageError(`${where} lists no manifest`);
    const chosen = pickManifest(manifests, where);
    const { member, hex } = blobMember(chosen.digest, `${where} manifest`);
    if (!src.has(member)) throw new UsageError(`${src.path}: blob ${member} is missing`);
    where = `${src.path}: ${member}`;
    doc = asObject(parseJson(verifiedBlob(src, member, hex, 'manifest'), where), where);
  }
  const configDesc = asObject(doc.config, `${where} config`) as Descriptor;
  const config = blobMember(configDesc.digest, `${where} config`);
  if (!src.has(config.member))
    throw new UsageError(`${src.path}: blob ${config.member} is missing`);
  const what = `${src.path}: config ${config.member}`;
  const { diffHexes, env, workingDir } = configFields(
    asObject(parseJson(verifiedBlob(src, config.member, config.hex, 'config'), what), what),
    what,
  );
  const layerDescs = Array.isArray(doc.layers) ? (doc.layers as Descriptor[]) : [];
  if (layerDescs.length !== diffHexes.length) {
    throw new UsageError(
      `${where} lists ${layerDescs.length} layers, its config ${diffHexes.length}`,
    );
  }
  const layers = layerDescs.map((d, i): LayerRef => {
    if (d.mediaType && !LAYER_TYPES.has(d.mediaType)) {
      throw new UsageError(
        `${where}: layer media type ${d.mediaType} is not supported (tar or tar+gzip only)`,
      );
    }
    const { member, hex } = blobMember(d.digest, `${where} layer`);
    if (!src.has(member)) throw new UsageError(`${src.path}: blob ${member} is missing`);
    return { member, blobHex: hex, diffHex: diffHexes[i]! };
  });
  return { format: 'oci', layers, env, workingDir };
}

/**
 * What an image consists of. docker-save tarballs carry manifest.json (Docker 25+ writes an OCI
 * index.json as well; both describe the same blobs), OCI layouts index.json.
 */
export function describeImage(src: ImageSource): ImageDescription {
  if (src.has('manifest.json')) return describeDockerSave(src);
  if (src.has('index.json')) return describeOci(src);
  throw new UsageError(
    `not an image: ${src.path} has neither manifest.json (docker save) nor index.json (OCI layout)`,
  );
}
