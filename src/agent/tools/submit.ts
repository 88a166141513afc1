import { z } from 'zod';
import { argsObject, isResult, validate } from './args.js';
import { ok, type Tool } from './types.js';

const SHAPE = '{} or {"summary": string}';
const schema = z.object({ summary: z.string().optional() });

export function submitTool(): Tool {
  return {
    spec: {
      name: 'submit',
      description:
        'Finish the task. Call this once, when your changes to the repository are complete: ' +
        'the current state of the files in /repo is what gets evaluated, and no further tool ' +
        'calls are run after it.',
      parameters: {
        type: 'object',
        properties: {
          summary: { type: 'string', description: 'Optional: a short summary of what you did.' },
        },
        additionalProperties: false,
      },
    },
    execute: async (raw) => {
      const obj = argsObject('submit', raw, SHAPE);
      if (isResult(obj)) return obj;
      const args = validate('submit', schema, obj, SHAPE);
      if (isResult(args)) return args;
      return ok('Submitted. The episode is over; the repository state has been recorded.', {
        submitted: true,
      });
    },
  };
}
