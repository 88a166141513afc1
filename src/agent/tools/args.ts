import type { z } from 'zod';
import { fail, type ToolResult } from './types.js';

/**
 * Arguments as a plain object: an object is taken as is, a string is parsed as JSON (models
 * and callers hand over raw argument text), an empty string or null/undefined is `{}`.
 */
export function argsObject(
  tool: string,
  args: unknown,
  shape: string,
): Record<string, unknown> | ToolResult {
  let value = args;
  if (value === undefined || value === null) return {};
  // A string is JSON text; a JSON string holding the object (encoded twice) is accepted too.
  for (let depth = 0; typeof value === 'string' && depth < 2; depth++) {
    if (value.trim() === '') return {};
    try {
      value = JSON.parse(value);
    } catch (err) {
      if (depth > 0) break;
      return fail(
        `${tool}: the arguments are not valid JSON (${(err as Error).message}). ` +
          `Pass one JSON object.\nExpected arguments: ${shape}`,
      );
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return fail(
      `${tool}: the arguments must be a JSON object, got ${kind}.\nExpected arguments: ${shape}`,
    );
  }
  return value as Record<string, unknown>;
}

export function isResult(v: unknown): v is ToolResult {
  return typeof v === 'object' && v !== null && 'isError' in v && 'output' in v;
}

/** Validates `value` with `schema`; on failure an error result naming each problem and the shape. */
export function validate<T>(
  tool: string,
  schema: z.ZodType<T>,
  value: unknown,
  shape: string,
): T | ToolResult {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const where = i.path.length ? i.path.map(String).join('.') : 'arguments';
    return `- ${where}: ${i.message}`;
  });
  return fail(`${tool}: invalid arguments:\n${problems.join('\n')}\nExpected arguments: ${shape}`);
}
