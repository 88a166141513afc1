import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import { UsageError } from '../util/errors.js';

export interface EnvironmentFlags {
  repo?: string;
  image?: string;
  repoPath?: string;
}

/** `--repo <dir>` or `--image <path> [--repo-path /testbed]`: where the original repo lives. */
export async function environmentSnapshot(
  host: SandboxHost,
  o: EnvironmentFlags,
): Promise<Snapshot> {
  if (!!o.repo === !!o.image)
    throw new UsageError('name the repository with --repo <dir> or --image <path>');
  if (o.image) return host.snapshotImage(o.image, { repoPath: o.repoPath });
  return host.snapshotDir(o.repo!);
}
