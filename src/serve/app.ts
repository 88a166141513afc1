import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorMessage, SsrError } from '../util/errors.js';
import type { EpisodeManager } from './episodes.js';
import { ApiError } from './errors.js';
import type { RunSyncRoot } from './runs.js';
import {
  CreatedSchema,
  CreateEpisodeSchema,
  EpisodeIdParams,
  EpisodeStateSchema,
  ErrorSchema,
  HealthSchema,
  PolicyPostSchema,
  PolicyWrittenSchema,
  RolloutSchema,
  RunIdParams,
  RunSchema,
  RunSyncSchema,
  StepResultSchema,
  StepSchema,
} from './schemas.js';

/** Inline artifacts are five text files of up to 8 MiB each (artifact/artifact.ts). */
const MAX_BODY_BYTES = 48 * 1024 * 1024;

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed JSON or a body that does not match the schema',
  403: 'A path outside the allowed roots (also through `..` or a symlink)',
  404: 'Unknown episode, or one held by another replica (kind wrong-replica); unknown run',
  409: 'The episode is over, or another request is driving it; a step not exported yet, or with another policy',
  422: 'The artifact is invalid (the failed check is given)',
  429: 'Every episode slot of this replica is taken; see Retry-After',
  500: 'The episode failed inside (kind episode-failed) or an internal error',
  503: 'The server is shutting down',
};

function errors(...codes: (keyof typeof ERROR_TEXT)[]) {
  return Object.fromEntries(
    codes.map((c) => [
      c,
      {
        description: ERROR_TEXT[c]!,
        content: { 'application/json': { schema: ErrorSchema } },
        ...(c === 429 || c === 503
          ? { headers: { 'Retry-After': { description: 'Seconds', schema: { type: 'integer' } } } }
          : {}),
      },
    ]),
  );
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const body = <T extends z.ZodType>(schema: T, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

const routes = {
  health: createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness and load of this replica',
    responses: { 200: json(HealthSchema, 'Alive') },
  }),
  create: createRoute({
    method: 'post',
    path: '/v1/episodes',
    summary: 'Create an episode (gym reset): returns the first observation',
    description:
      'A solver episode validates its artifact first (cached per repo and artifact) and ' +
      'starts from the buggy repository with fresh git history. Drive it with /step (your ' +
      'policy answers) or /run (the server calls the model given here).',
    request: { body: body(CreateEpisodeSchema) },
    responses: {
      201: json(CreatedSchema, 'Created; the loop waits for the first model reply'),
      ...errors(400, 403, 404, 422, 429, 500, 503),
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/episodes/{id}',
    summary: 'State, trajectory so far, reward once done',
    request: { params: EpisodeIdParams },
    responses: { 200: json(EpisodeStateSchema, 'The episode'), ...errors(404) },
  }),
  delete: createRoute({
    method: 'delete',
    path: '/v1/episodes/{id}',
    summary: 'Stop the episode if it runs and dispose its sandbox',
    request: { params: EpisodeIdParams },
    responses: {
      200: json(EpisodeStateSchema, 'The episode as it was when deleted'),
      ...errors(404),
    },
  }),
  step: createRoute({
    method: 'post',
    path: '/v1/episodes/{id}/step',
    summary: 'Answer the pending model call (gym step)',
    description:
      'Runs the tool call of the message and returns the messages appended after it. When ' +
      'the episode ends (submit, budget), the reward comes with the same response.',
    request: { params: EpisodeIdParams, body: body(StepSchema) },
    responses: {
      200: json(StepResultSchema, 'The next observation'),
      ...errors(400, 404, 409, 500),
    },
  }),
  run: createRoute({
    method: 'post',
    path: '/v1/episodes/{id}/run',
    summary: 'Managed mode: the server calls the model until the episode ends',
    request: { params: EpisodeIdParams, body: body(RunSchema, false) },
    responses: {
      200: json(EpisodeStateSchema, 'The finished episode: trajectory and reward'),
      ...errors(400, 404, 409, 500),
    },
  }),
  rollout: createRoute({
    method: 'post',
    path: '/v1/rollouts',
    summary: 'One-shot: create, run with the model, grade, dispose',
    description:
      'Stateless, so any replica behind a load balancer can serve it. A client that hangs up ' +
      'stops the rollout.',
    request: { body: body(RolloutSchema) },
    responses: {
      200: json(EpisodeStateSchema, 'Trajectory and reward'),
      ...errors(400, 403, 404, 422, 429, 500, 503),
    },
  }),
  policy: createRoute({
    method: 'post',
    path: '/v1/runs/{runId}/policy',
    summary: 'The trainer’s policy after a step of a `--sync file` self-play run',
    description:
      'Needs --run-root. Writes <run>/sync/policy-<after_step>.json whole, which lets the run ' +
      'sample its next step with that version (and model). 409 until the step’s ready file ' +
      'exists, and for a second, different policy of the same step.',
    request: { params: RunIdParams, body: body(PolicyPostSchema) },
    responses: {
      200: json(PolicyWrittenSchema, 'Written (or the same policy was already there)'),
      ...errors(400, 403, 404, 409),
    },
  }),
  runSync: createRoute({
    method: 'get',
    path: '/v1/runs/{runId}/sync',
    summary: 'Exported steps and the policies written for them',
    request: { params: RunIdParams },
    responses: { 200: json(RunSyncSchema, 'The run’s sync/ folder'), ...errors(400, 403, 404) },
  }),
};

function describeZod(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

function errorResponse(c: Context, err: unknown, log: (m: string) => void): Response {
  let status: ContentfulStatusCode = 500;
  let kind = 'internal';
  let message: string;
  let details: Record<string, unknown> = {};
  if (err instanceof ApiError) {
    ({ status, kind, message, details } = err);
    if (err.retryAfter !== undefined) c.header('retry-after', String(err.retryAfter));
  } else if (err instanceof HTTPException) {
    status = err.status as ContentfulStatusCode;
    kind = status === 413 ? 'too-large' : status === 415 ? 'unsupported-media-type' : 'bad-request';
    message =
      status === 415 ? 'send the body as JSON (content-type: application/json)' : err.message;
  } else if (err instanceof SsrError) {
    status = 400;
    kind = 'bad-request';
    message = err.message;
  } else {
    message = `internal error: ${errorMessage(err)}`;
    log(message);
  }
  return c.json({ error: { message, kind, ...details } }, status);
}

export interface AppOptions {
  manager: EpisodeManager;
  liveSandboxes: () => number;
  isolation: string;
  isClosing: () => boolean;
  log: (message: string) => void;
  /** `--run-root`: the runs whose policy files the policy endpoint writes. */
  runs?: RunSyncRoot;
}

/** The HTTP API over an EpisodeManager; the OpenAPI document is generated from the routes. */
export function createApp(o: AppOptions): OpenAPIHono {
  const { manager } = o;
  const replicaId = manager.opts.replicaId;
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json({ error: { message: describeZod(result.error), kind: 'bad-request' } }, 400);
      }
    },
  });
  app.onError((err, c) => errorResponse(c, err, o.log));
  app.notFound((c) =>
    c.json(
      { error: { message: `no route ${c.req.method} ${c.req.path}`, kind: 'not-found' } },
      404,
    ),
  );
  app.use('*', async (c, next) => {
    c.header('x-ssr-replica', replicaId);
    await next();
  });
  app.use('/v1/*', async (_c, next) => {
    if (o.isClosing())
      throw new ApiError(503, 'shutting-down', 'the server is shutting down', {}, 5);
    await next();
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'too-large', `request body over ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.openapi(routes.health, (c) =>
    c.json(
      {
        ok: !o.isClosing(),
        replicaId,
        episodes: {
          active: manager.active,
          finished: manager.finished,
          max: manager.opts.maxEpisodes,
        },
        liveSandboxes: o.liveSandboxes(),
        isolation: o.isolation,
      },
      200,
    ),
  );

  app.openapi(routes.create, async (c) => {
    const { episode, observation } = await manager.create(c.req.valid('json'));
    return c.json(
      {
        episodeId: episode.id,
        replicaId,
        policyVersion: episode.policyVersion,
        observation,
        done: episode.status !== 'running',
      },
      201,
    );
  });

  app.openapi(routes.get, (c) => c.json(manager.get(c.req.valid('param').id).state(), 200));

  app.openapi(routes.delete, async (c) => {
    const ep = manager.get(c.req.valid('param').id);
    await manager.remove(ep.id);
    return c.json(ep.state(), 200);
  });

  app.openapi(routes.step, async (c) => {
    const ep = manager.get(c.req.valid('param').id);
    const messages = await ep.step(c.req.valid('json'));
    return c.json(
      { observation: { messages }, done: ep.status !== 'running', ...ep.outcomeFields() },
      200,
    );
  });

  app.openapi(routes.run, async (c) => {
    const ep = manager.get(c.req.valid('param').id);
    await manager.run(ep, c.req.valid('json').model);
    return c.json(ep.state(), 200);
  });

  app.openapi(routes.rollout, async (c) =>
    c.json(await manager.rollout(c.req.valid('json'), c.req.raw.signal), 200),
  );

  const runs = () => {
    if (!o.runs) throw new ApiError(404, 'not-found', 'this server was started without --run-root');
    return o.runs;
  };
  app.openapi(routes.policy, (c) =>
    c.json(runs().postPolicy(c.req.valid('param').runId, c.req.valid('json')), 200),
  );
  app.openapi(routes.runSync, (c) => c.json(runs().status(c.req.valid('param').runId), 200));

  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'ssr serve',
      version: '1',
      description:
        'Gym-like environment server for RL rollout workers: solver and injector episodes of ' +
        'Self-play SWE-RL in sandboxed repositories. Episode ids are <replica-id>.<hex>; route ' +
        'stepwise calls by that prefix (every response carries x-ssr-replica).',
    },
  });
  return app;
}
