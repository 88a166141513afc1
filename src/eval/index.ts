export {
  checkoutSnapshot,
  EnvironmentCache,
  hideHistory,
  snapshotImage,
  type TaskEnvironment,
} from './environment.js';
export {
  type FromHistoryOptions,
  type FromHistoryResult,
  type SkippedCommit,
  tasksFromHistory,
} from './from-history.js';
export { type Grade, type GradeInput, gradePatch, splitModelPatch } from './grade.js';
export {
  type AttemptRecord,
  evaluateArtifacts,
  evaluateTasks,
  type HeldOutArtifact,
  passAtK,
  type RunOptions,
  type SetSummary,
  summarize,
  type TaskSummary,
} from './run.js';
export { type EvalTask, EvalTaskSchema, type LoadTasksOptions, loadTasks } from './tasks.js';
