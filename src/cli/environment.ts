import type { Command } from 'commander';
import { DockerHost } from '../sandbox/docker.js';
import { SandboxHost } from '../sandbox/local.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import { UsageError } from '../util/errors.js';

export interface EnvironmentFlags {
  repo?: string;
  image?: string;
  docker?: string;
  dockerSocket?: string;
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

export type ClosableProvider = SandboxProvider & { close(): Promise<void> };

/**
 * The backend and original state that `--repo`, `--image` or `--docker` name: the local
 * bubblewrap host for the first two, a Docker daemon's containers for the third. `onHost`
 * hears of the host as soon as it exists, so Ctrl-C can close it during the snapshot.
 */
export async function openEnvironment(
  o: EnvironmentFlags & { unsafeNoSandbox?: boolean },
  onHost: (host: ClosableProvider) => void,
): Promise<{ host: ClosableProvider; snapshot: Snapshot }> {
  const named = [o.repo, o.image, o.docker].filter(Boolean).length;
  if (named !== 1) {
    throw new UsageError(
      'name the repository with --repo <dir> or --image <path> (or --docker <image>), once',
    );
  }
  if (o.docker) {
    const host = await DockerHost.connect({ socketPath: o.dockerSocket });
    onHost(host);
    try {
      return { host, snapshot: await host.snapshotImage(o.docker, { repoPath: o.repoPath }) };
    } catch (err) {
      await host.close().catch(() => undefined);
      throw err;
    }
  }
  const host = SandboxHost.open({ allowUnsandboxed: !!o.unsafeNoSandbox });
  onHost(host);
  try {
    return { host, snapshot: await environmentSnapshot(host, o) };
  } catch (err) {
    await host.close().catch(() => undefined);
    throw err;
  }
}

/** The flags that name the original repository (see openEnvironment), on `command`. */
export function environmentOptions(command: Command): Command {
  return command
    .option('--repo <repo-dir>', 'the original repository (never modified)')
    .option(
      '--image <path>',
      'instead of --repo: a docker-save tarball or OCI layout holding the repository',
    )
    .option(
      '--docker <image>',
      'instead of --repo: an image already present in a Docker daemon; sandboxes are its containers',
    )
    .option('--docker-socket <path>', 'with --docker: the daemon socket (default: DOCKER_HOST)')
    .option(
      '--repo-path <path>',
      'with --image or --docker: where the repository is in the image',
      '/testbed',
    );
}
