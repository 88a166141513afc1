import { type Command, InvalidArgumentError, Option } from 'commander';
import type { SandboxHost } from '../sandbox/local.js';
import { defaultReplicaId, startServer } from '../serve/server.js';

function whole(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be seconds > 0');
  return Math.round(n * 1000);
}

const SHUTDOWN_GRACE_MS = 10_000;

const EXAMPLE = `
Example session (stepwise: your rollout worker is the policy):
  ssr serve --repo-root examples/repos --artifact-root examples/artifacts &
  curl -s localhost:8765/v1/episodes -H 'content-type: application/json' \\
    -d '{"role":"solver","repo":"textkit","artifact":"textkit-wrap-width"}'
  # -> {"episodeId":"<replica>.<hex>","observation":{"messages":[...],"tools":[...]},...}
  curl -s localhost:8765/v1/episodes/ID/step -H 'content-type: application/json' -d '{"message":
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":
    {"name":"submit","arguments":"{}"}}]}}'
  # -> {"observation":{"messages":[...]},"done":true,"reward":-1,"evaluation":{...},...}
  curl -s -X DELETE localhost:8765/v1/episodes/ID

Managed, one-shot (the server calls your OpenAI-compatible endpoint; any replica can serve it):
  curl -s localhost:8765/v1/rollouts -H 'content-type: application/json' \\
    -d '{"role":"solver","repo":"textkit","artifact":"textkit-wrap-width",
         "model":{"baseURL":"http://127.0.0.1:8000/v1","model":"qwen"}}'

Online self-play (a run started with ssr selfplay --sync file under --run-root runs/):
  curl -s localhost:8765/v1/runs/r1/sync          # exported steps, policies, the step awaited
  curl -s localhost:8765/v1/runs/r1/policy -H 'content-type: application/json' \\
    -d '{"after_step":0,"version":"v1","model":"policy-v1"}'

API reference: GET /openapi.json. Episode ids start with the replica id: route stepwise
calls stickily by that prefix.
`;

export function registerServe(program: Command, setHost: (h: SandboxHost | null) => void): void {
  program
    .command('serve')
    .summary('HTTP environment server for RL rollout workers')
    .description(
      'Serve solver and injector episodes over HTTP (JSON, OpenAPI at /openapi.json) for an RL ' +
        "trainer's rollout workers. Stepwise (gym-like: create, step, delete) with the worker " +
        'as the policy, or managed (/run, /v1/rollouts) with the server calling an ' +
        'OpenAI-compatible endpoint. Every episode runs in its own sandbox; SIGINT/SIGTERM ' +
        'stops the episodes and disposes every sandbox.',
    )
    .requiredOption(
      '--repo-root <dir...>',
      'directories whose repositories clients may use (repeatable)',
    )
    .option('--artifact-root <dir...>', 'directories whose artifact folders clients may use')
    .option(
      '--run-root <dir>',
      'folder of `ssr selfplay --sync file` runs: enables POST /v1/runs/<run>/policy (the trainer posts its policy) and GET /v1/runs/<run>/sync',
    )
    .option('--port <n>', 'port (0: any free one)', whole('--port', 0), 8765)
    .option('--host <address>', 'address to bind (anything but loopback is a risk)', '127.0.0.1')
    .option('--max-episodes <n>', 'episodes at once; more get 429', whole('--max-episodes', 1), 64)
    .addOption(
      new Option('--episode-ttl <seconds>', 'idle episodes are disposed after this')
        .argParser(seconds)
        .default(900_000, '900'),
    )
    .option('--replica-id <id>', 'prefix of episode ids', defaultReplicaId())
    .option(
      '--test-concurrency <n>',
      'test runs at once (default: CPU cores)',
      whole('--test-concurrency', 1),
    )
    .option(
      '--unsafe-no-sandbox',
      'if bubblewrap is unavailable, run model commands directly on this machine',
    )
    .addHelpText('after', EXAMPLE)
    .action(async (o) => {
      const server = await startServer({
        repoRoots: o.repoRoot,
        artifactRoots: o.artifactRoot ?? [],
        runRoot: o.runRoot,
        port: o.port,
        hostname: o.host,
        maxEpisodes: o.maxEpisodes,
        episodeTtlMs: o.episodeTtl,
        replicaId: o.replicaId,
        testConcurrency: o.testConcurrency,
        allowUnsandboxed: !!o.unsafeNoSandbox,
        onEvent: (e) =>
          process.stderr.write(
            `ssr serve: ${e.episodeId} ${e.role} ${e.status}` +
              (e.endReason ? ` (${e.endReason})` : '') +
              ` reward ${e.reward ?? 'n/a'} in ${(e.durationMs / 1000).toFixed(1)} s` +
              (e.error ? `: ${e.error}` : '') +
              '\n',
          ),
      });
      // The CLI's signal handler disposes this host's sandboxes even if the close below races it.
      setHost(server.host);
      process.stderr.write(
        `ssr serve: listening on ${server.url} (replica ${server.replicaId}, sandbox ` +
          `${server.host.mode.isolation}); API at ${server.url}/openapi.json\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.stderr.write(`ssr serve: ${signal}: stopping episodes, disposing sandboxes\n`);
          // A sandbox is disposed once its running command ends, which a tool timeout allows to
          // take minutes. Past the grace period, exit: the exit hook removes every sandbox and
          // bubblewrap kills what runs inside when this process dies.
          setTimeout(() => {
            process.stderr.write(
              `ssr serve: commands still running after ${SHUTDOWN_GRACE_MS / 1000} s; exiting\n`,
            );
            process.exit(signal === 'SIGINT' ? 130 : 143);
          }, SHUTDOWN_GRACE_MS).unref();
          void server.close().finally(resolve);
        };
        process.prependOnceListener('SIGINT', stop);
        process.prependOnceListener('SIGTERM', stop);
      });
      setHost(null);
    });
}
