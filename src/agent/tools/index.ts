import type { ToolSpec } from '../types.js';
import { type BashToolOptions, bashTool } from './bash.js';
import { type EditorToolOptions, editorTool } from './editor.js';
import { submitTool } from './submit.js';
import { fail, type Tool, type ToolContext, type ToolResult } from './types.js';

export { argsObject } from './args.js';
export { BASH_DEFAULT_TIMEOUT_S, BASH_MAX_TIMEOUT_S, bashTool } from './bash.js';
export { EditorState, editorTool } from './editor.js';
export { submitTool } from './submit.js';
export { DEFAULT_OUTPUT_BUDGET, truncateMiddle } from './truncate.js';
export type { Tool, ToolContext, ToolExecutor, ToolResult } from './types.js';

export interface DefaultToolsOptions extends BashToolOptions, EditorToolOptions {}

/** bash, editor and submit. */
export function defaultTools(opts: DefaultToolsOptions = {}): Tool[] {
  return [bashTool(opts), editorTool(opts), submitTool()];
}

export function toolSpecs(tools: Tool[]): ToolSpec[] {
  return tools.map((t) => t.spec);
}

/**
 * Runs the tool called `name` with the model's raw JSON argument text. Never throws: bad
 * JSON, unknown tools and failures inside a tool come back as `isError` results.
 */
export async function runTool(
  name: string,
  rawArgumentsJson: string,
  ctx: ToolContext,
  tools: Tool[] = defaultTools(),
): Promise<ToolResult> {
  const tool = tools.find((t) => t.spec.name === name);
  if (!tool) {
    return fail(
      `Unknown tool ${JSON.stringify(name)}. Available tools: ${tools.map((t) => t.spec.name).join(', ')}.`,
    );
  }
  try {
    // The executors parse the JSON text themselves, so their errors show the expected shape.
    return await tool.execute(rawArgumentsJson, ctx);
  } catch (err) {
    return fail(`${name}: ${(err as Error).message}`);
  }
}
