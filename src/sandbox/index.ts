export { detectCapabilities, type SandboxCapabilities } from './capabilities.js';
export { DEFAULT_LIMITS, type SandboxLimits } from './cgroup.js';
export {
  type ImageSnapshot,
  LocalSandbox,
  SandboxHost,
  type SandboxHostOptions,
  type SandboxMode,
  shellQuote,
} from './local.js';
export type { ExecResult } from './spawn.js';
export type { ApplyResult, ExecOptions, Sandbox, Snapshot } from './types.js';
