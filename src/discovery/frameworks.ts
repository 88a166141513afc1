/**
 * Candidate test suites for a repository, from a static look at it: for each framework with
 * evidence (a runner in package.json's test script, a dependency, a config file, test files, a
 * build file), the test_script.sh that runs it with a machine-readable reporter, the matching
 * test_parser.py, and the test files the script runs. Nothing here runs repository code.
 * Each ecosystem's candidates live in their own module.
 */
import {
  cargoCandidates,
  cCandidates,
  goCandidates,
  gradleCandidates,
  mavenCandidates,
} from './native-frameworks.js';
import { npmCandidates } from './npm-frameworks.js';
import { pythonCandidates } from './python-frameworks.js';
import { rubyCandidates } from './ruby-frameworks.js';
import type { RepoScan } from './scan.js';
import type { Candidate, Ecosystem } from './script-pieces.js';

export { surefireScript } from './native-frameworks.js';
export { type Candidate, type Ecosystem, toolAvailable } from './script-pieces.js';

// ---------------------------------------------------------------------------------------------

const ECOSYSTEM_ORDER: Ecosystem[] = ['npm', 'python', 'go', 'rust', 'java', 'ruby', 'c', 'cpp'];

/**
 * Every candidate for the repository, most likely first: ecosystems by how many test files
 * their candidates name (ties: npm, Python, Go, Rust, Java, Ruby); within one, the runners the test
 * script calls, then the frameworks with other evidence, then fallbacks.
 */
export function proposeCandidates(scan: RepoScan): Candidate[] {
  const groups: Candidate[][] = [
    npmCandidates(scan),
    pythonCandidates(scan),
    goCandidates(scan),
    cargoCandidates(scan),
    mavenCandidates(scan),
    gradleCandidates(scan),
    cCandidates(scan),
    rubyCandidates(scan),
  ];
  const weight = (g: Candidate[]) => new Set(g.flatMap((c) => c.testFiles)).size;
  return groups
    .filter((g) => g.length)
    .map((g) => ({ g, w: weight(g), o: ECOSYSTEM_ORDER.indexOf(g[0]!.ecosystem) }))
    .sort((a, b) => b.w - a.w || a.o - b.o)
    .flatMap((x) => x.g);
}
