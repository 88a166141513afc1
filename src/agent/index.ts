export * from './loop.js';
export * from './model/openai-client.js';
export * from './model/scripted-client.js';
export * from './model/text-tool-calls.js';
export * from './solver.js';
export * from './solver-env.js';
export * from './tools/index.js';
export * from './types.js';
