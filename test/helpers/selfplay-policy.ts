/**
 * A scripted self-play policy for the scripted OpenAI server: it plays both roles the way a
 * model would, through tool calls, on the example textkit repository.
 *
 * Injector: reads the focus file from its prompt and writes one of the known bugs for that
 * file (the n-th conversation about a file gets the n-th bug), or writes nothing for a file
 * it has no bug for. Solver: recognises the oracle test file in its issue and
 *   - case.test.js: always fixes (solve rate 1),
 *   - slug.test.js: never fixes, and leaves a stray edit (solve rate 0, higher-order bugs),
 *   - wrap.test.js: fixes every other conversation (solve rate 1/2 with two attempts).
 * Fixing means reverse-applying whichever known bug applies in reverse. Every conversation
 * writes its decision into its first command, so later turns (and a restarted client) see it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScriptStep } from './scripted-openai-server.js';

export interface KnownBug {
  dir: string;
  /** The one source file the bug changes. */
  file: string;
}

const FILES = [
  'test_script.sh',
  'test_files.txt',
  'test_parser.py',
  'bug_inject.diff',
  'test_weaken.diff',
];
const b64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * The bash command an injector runs to write an artifact where the injector role collects it
 * (/tmp/ssr_artifact): the five files of folder `dir`, any of them replaced by `replace`.
 */
export function writeArtifactCommand(dir: string, replace: Record<string, string> = {}): string {
  const write = FILES.map(
    (n) =>
      `echo ${b64(replace[n] ?? readFileSync(join(dir, n), 'utf8'))} | base64 -d > /tmp/ssr_artifact/${n}`,
  );
  return ['mkdir -p /tmp/ssr_artifact', ...write].join(' && ');
}

const call = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  usage: { promptTokens: 200, completionTokens: 20 },
  logprobs: [{ token: 'token_id:11', logprob: -0.5 }],
});
const bash = (command: string) => call('bash', { command });
const submit = call('submit', {});

export function selfPlayPolicy(bugs: KnownBug[]) {
  const counters = new Map<string, number>();
  const next = (key: string) => {
    const n = counters.get(key) ?? 0;
    counters.set(key, n + 1);
    return n;
  };
  const byFile = (file: string) => bugs.filter((b) => b.file === file);

  return (body: Record<string, unknown>): ScriptStep => {
    const messages = body.messages as {
      role: string;
      content: string | null;
      tool_calls?: { function: { arguments: string } }[];
    }[];
    const assistant = messages.filter((m) => m.role === 'assistant');
    const firstCommand = (() => {
      const args = assistant[0]?.tool_calls?.[0]?.function.arguments;
      return args ? String((JSON.parse(args) as { command?: string }).command ?? '') : '';
    })();
    const system = String(messages[0]?.content ?? '');
    const user = String(messages[1]?.content ?? '');

    if (system.includes('creates realistic, well-specified bugs')) {
      const focus = /Start from (\S+) \(/.exec(user)?.[1] ?? '';
      if (assistant.length === 0) {
        const candidates = byFile(focus);
        if (!candidates.length) return bash(`# no bug for ${focus}\nls`);
        const bug = candidates[next(`inject:${focus}`) % candidates.length]!;
        return bash(`# bug ${bug.dir}\ngit status --short`);
      }
      const chosen = /^# bug (\S+)/.exec(firstCommand)?.[1];
      if (!chosen || assistant.length > 1) return submit;
      return bash(writeArtifactCommand(chosen));
    }

    // Solver.
    const testFile = /\+\+\+ b\/(test\/\S+)/.exec(user)?.[1] ?? '';
    const source = testFile.replace(/^test\/(\w+)\.test\.js$/, 'src/$1.js');
    if (assistant.length === 0) {
      let fix: boolean;
      if (testFile.endsWith('case.test.js')) fix = true;
      else if (testFile.endsWith('wrap.test.js')) fix = next('solve:wrap') % 2 === 0;
      else fix = false;
      return bash(`# ${fix ? 'fix' : 'fail'}\ncat ${source}`);
    }
    if (assistant.length > 1) return submit;
    if (firstCommand.startsWith('# fix')) {
      const tries = byFile(source).map(
        (b) =>
          `(echo ${b64(readFileSync(join(b.dir, 'bug_inject.diff'), 'utf8'))} | base64 -d > /tmp/bug.diff && git apply -R --check /tmp/bug.diff 2>/dev/null && git apply -R /tmp/bug.diff)`,
      );
      return bash(`${tries.join(' || ')} || true`);
    }
    return bash(`echo '// an attempt that did not help' >> ${source}`);
  };
}
