/** The procedural strategies of SSR-SPEC section 6 (no model needed). */
export type Strategy = 'removal' | 'history' | 'mutation';

/**
 * One proposed bug, before validation: a change to non-test source files. Generators produce
 * many; the pipeline derives a weakening for each and keeps only those that validate.
 */
export interface BugCandidate {
  strategy: Strategy;
  /** Stable across runs for the same repo and generator version (used for resume and ids). */
  key: string;
  /** The operator or kind, e.g. 'remove-function-body', 'relational-swap', 'revert-commit'. */
  operator: string;
  /** One line for humans: what changed where. */
  description: string;
  /** Repo-relative path -> new full content, for every changed file (null = delete the file). */
  edits: Record<string, string | null>;
  /** Where the change is (first changed file, 1-based line) for reports. */
  location: { file: string; line: number };
}

/** A source-code function or method, located by the AST (1-based lines, inclusive). */
export interface FunctionSpan {
  file: string;
  name: string;
  startLine: number;
  endLine: number;
}
