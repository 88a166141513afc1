export * from './artifact.js';
export * from './patch.js';
export * from './safety.js';
