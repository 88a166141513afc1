export type TestStatus = 'passed' | 'failed' | 'skipped';

/** Parsed outcome of one test-suite run: test id -> status. */
export type TestMap = Record<string, TestStatus>;

export function passedIds(map: TestMap): string[] {
  return Object.keys(map)
    .filter((k) => map[k] === 'passed')
    .sort();
}

export function failedIds(map: TestMap): string[] {
  return Object.keys(map)
    .filter((k) => map[k] === 'failed')
    .sort();
}

/** SSR-SPEC: anything that is not "passed" is a failure; a missing test did not pass. */
export function didPass(map: TestMap, id: string): boolean {
  return map[id] === 'passed';
}
