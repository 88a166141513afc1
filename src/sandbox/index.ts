export { detectCapabilities, type SandboxCapabilities } from './capabilities.js';
export { DEFAULT_LIMITS, type SandboxLimits } from './cgroup.js';
export {
  DockerHost,
  type DockerHostOptions,
  DockerSandbox,
  type DockerSnapshot,
} from './docker.js';
export {
  type ImageSnapshot,
  LocalSandbox,
  type LocalSandboxMode,
  SandboxHost,
  type SandboxHostOptions,
  shellQuote,
} from './local.js';
export { ExecKilledError, type ExecResult } from './spawn.js';
export type {
  ApplyResult,
  ExecOptions,
  Sandbox,
  SandboxMode,
  SandboxProvider,
  Snapshot,
} from './types.js';
