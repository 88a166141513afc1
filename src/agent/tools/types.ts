import type { Sandbox } from '../../sandbox/types.js';
import type { ToolSpec } from '../types.js';
import type { EditorState } from './editor.js';

/** What a tool call returns to the model. */
export interface ToolResult {
  /** Text for the model (the `tool` message content). */
  output: string;
  /** The call itself failed (bad arguments, refused path, ...); a failing command is not one. */
  isError: boolean;
  /** The agent declared the episode finished. */
  submitted?: boolean;
}

export interface ToolContext {
  sandbox: Sandbox;
  /** The editor's undo history; one per episode. Without it, one per sandbox is kept. */
  editor?: EditorState;
  /** Ms left of the episode's wall time: commands are killed when it runs out. */
  timeLeftMs?: () => number;
}

/** Never throws: every failure is a ToolResult with `isError`. */
export type ToolExecutor = (args: unknown, ctx: ToolContext) => Promise<ToolResult>;

export interface Tool {
  spec: ToolSpec;
  execute: ToolExecutor;
}

export function ok(output: string, extra: Partial<ToolResult> = {}): ToolResult {
  return { output, isError: false, ...extra };
}

export function fail(output: string): ToolResult {
  return { output, isError: true };
}
