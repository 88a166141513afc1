import { randomBytes } from 'node:crypto';
import type { InjectorStrategy } from '../agent/injector.js';
import { reportedModel } from '../agent/loop.js';
import type { ChatMessage, ModelClient } from '../agent/types.js';
import { type Artifact, readArtifact } from '../artifact/artifact.js';
import { errorMessage, SsrError } from '../util/errors.js';
import type { ServeEnvironment } from './environment.js';
import { ApiError } from './errors.js';
import {
  ExternalModel,
  responseFromStep,
  toOpenAIMessage,
  toOpenAITools,
} from './external-model.js';
import {
  artifactFromInline,
  injectorRunner,
  type LoopSettings,
  type RoleOutcome,
  type RoleRunner,
  solverRunner,
} from './roles.js';
import type {
  ChatMessageOut,
  CreateEpisodeBody,
  EpisodeStateOut,
  ModelConfig,
  OutcomeOut,
  StepBody,
  ToolOut,
  TrajectoryOut,
} from './schemas.js';

export type EpisodeStatus = 'running' | 'done' | 'failed';
export type EpisodeRole = CreateEpisodeBody['role'];

export interface EpisodeEndEvent {
  type: 'episode-end';
  episodeId: string;
  role: EpisodeRole;
  status: EpisodeStatus;
  reward: number | null;
  endReason?: string;
  error?: string;
  durationMs: number;
}

/**
 * One gym-like episode: the agent loop runs as a background task whose model is an
 * ExternalModel, so "step" means "answer the call the loop is waiting on, then wait until it
 * waits again or ends". Exceptions inside the task mark this episode failed and go no further.
 */
export class Episode {
  readonly model = new ExternalModel();
  readonly startedAt = Date.now();
  status: EpisodeStatus = 'running';
  outcome: RoleOutcome | null = null;
  error: string | null = null;
  /** Who is answering the loop right now: a step request or the managed driver. */
  busy: 'step' | 'run' | null = null;
  lastActive = Date.now();
  finishedAt: number | null = null;
  /** The policy version the client said it samples with (echoed back; null if none). */
  policyVersion: string | null = null;
  readonly task: Promise<void>;
  private readonly abort = new AbortController();
  /** History entries the client has been given or has sent. */
  private delivered = 0;

  constructor(
    readonly id: string,
    readonly replicaId: string,
    readonly role: EpisodeRole,
    runner: RoleRunner,
    /** Managed mode's default model (the API key stays here, never in a response). */
    readonly modelConfig: ModelConfig | undefined,
    onEnd: (ep: Episode) => void,
  ) {
    this.task = runner(this.model, this.abort.signal)
      .then(
        (o) => {
          this.outcome = o;
          this.status = 'done';
        },
        (err: unknown) => {
          this.error = errorMessage(err);
          this.status = 'failed';
        },
      )
      .finally(() => {
        this.finishedAt = Date.now();
        onEnd(this);
      });
  }

  private history(): ChatMessage[] {
    return this.outcome?.trajectory.messages ?? this.model.history;
  }

  /** Until the loop waits for the model again, or the episode is over. */
  private async settle(): Promise<void> {
    await Promise.race([this.model.requested(), this.task]);
    this.lastActive = Date.now();
  }

  /** The first observation: system and user messages, and the tools. */
  async start(): Promise<{ messages: ChatMessageOut[]; tools: ToolOut[] }> {
    await this.settle();
    this.failIfFailed();
    const messages = this.history();
    this.delivered = messages.length;
    return {
      messages: messages.map(toOpenAIMessage),
      tools: toOpenAITools(this.model.tools),
    };
  }

  async step(body: StepBody): Promise<ChatMessageOut[]> {
    this.assertDrivable();
    if (!this.model.pending) {
      throw new ApiError(409, 'not-waiting', `episode ${this.id} is not waiting for a model reply`);
    }
    this.busy = 'step';
    try {
      this.model.respond(responseFromStep(body, this.model.calls - 1));
      await this.settle();
    } finally {
      this.busy = null;
    }
    this.failIfFailed();
    const messages = this.history();
    // The loop appended the step's own assistant message first: the client has that one.
    const fresh = messages.slice(this.delivered + 1);
    this.delivered = messages.length;
    return fresh.map(toOpenAIMessage);
  }

  /** Managed mode: the server answers every call with `client` until the episode is over. */
  async run(client: ModelClient): Promise<void> {
    this.assertDrivable();
    this.busy = 'run';
    try {
      for (;;) {
        await this.settle();
        const request = this.model.pending;
        if (!request) break;
        try {
          this.model.respond(await client.complete(request));
        } catch (err) {
          // Passed through as thrown, so the loop still tells context-length from the rest.
          if (this.model.pending === request) this.model.fail(err);
        }
      }
    } finally {
      this.busy = null;
      this.lastActive = Date.now();
    }
    this.delivered = this.history().length;
    this.failIfFailed();
  }

  /** Stops the loop (its sandbox is disposed as it unwinds) and waits for the task. */
  async dispose(): Promise<void> {
    this.model.close(new Error('the episode was stopped (deleted, expired or server shutdown)'));
    this.abort.abort();
    await this.task;
  }

  private assertDrivable(): void {
    if (this.status !== 'running') {
      throw new ApiError(409, 'episode-done', `episode ${this.id} is over (${this.status})`);
    }
    if (this.busy) {
      throw new ApiError(
        409,
        'episode-busy',
        `episode ${this.id} is being driven by ${this.busy === 'run' ? 'a /run request' : 'another step'}`,
      );
    }
  }

  private failIfFailed(): void {
    if (this.status === 'failed') {
      throw new ApiError(500, 'episode-failed', `episode ${this.id} failed: ${this.error}`);
    }
  }

  outcomeFields(): OutcomeOut {
    const o = this.outcome;
    if (!o) return { status: this.status, ...(this.error ? { error: this.error } : {}) };
    const { trajectory, ...rest } = o;
    return { status: this.status, endReason: trajectory.endReason, ...rest };
  }

  trajectory(): TrajectoryOut {
    const t = this.outcome?.trajectory;
    const messages = this.history().map(toOpenAIMessage);
    const tools = toOpenAITools(this.model.tools);
    const policy = { model: t ? reportedModel(t) : null, version: this.policyVersion };
    if (!t) return { messages, tools, policy };
    return {
      messages,
      tools,
      policy,
      turns: t.turns.map((turn) => ({ ...turn })),
      endReason: t.endReason,
      endDetail: t.endDetail,
      submitted: t.submitted,
      usage: t.usage,
      durationMs: t.durationMs,
      budget: { ...t.budget },
    };
  }

  state(): EpisodeStateOut {
    return {
      episodeId: this.id,
      replicaId: this.replicaId,
      role: this.role,
      policyVersion: this.policyVersion,
      ...this.outcomeFields(),
      trajectory: this.trajectory(),
    };
  }
}

export interface ManagerOptions {
  replicaId: string;
  maxEpisodes: number;
  episodeTtlMs: number;
  /** Finished episodes kept for GET until deleted or expired (default 4 x maxEpisodes). */
  maxFinished?: number;
  modelClient: (config: ModelConfig) => ModelClient;
  onEvent?: (e: EpisodeEndEvent) => void;
}

/** Seconds a client is told to wait when every episode slot is taken. */
const RETRY_AFTER_S = 5;
const MAX_CLIENTS = 64;

/**
 * The episodes of one replica: creation (paths, artifact validation, start state), the limit
 * on episodes at once, idle expiry, and disposal. Ids are `<replica-id>.<hex>` so a load
 * balancer can send every call of a stepwise episode to the replica that holds it.
 */
export class EpisodeManager {
  private readonly episodes = new Map<string, Episode>();
  private reserved = 0;
  private closing = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly clients = new Map<string, ModelClient>();

  constructor(
    readonly env: ServeEnvironment,
    readonly opts: ManagerOptions,
  ) {
    const every = Math.max(1000, Math.min(30_000, Math.floor(opts.episodeTtlMs / 4)));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  get active(): number {
    let n = this.reserved;
    for (const ep of this.episodes.values()) if (ep.status === 'running') n++;
    return n;
  }

  get finished(): number {
    let n = 0;
    for (const ep of this.episodes.values()) if (ep.status !== 'running') n++;
    return n;
  }

  /** A creation slot, or 429 when the replica is full. */
  private reserve(): () => void {
    if (this.closing) throw new ApiError(503, 'shutting-down', 'the server is shutting down');
    if (this.active >= this.opts.maxEpisodes) {
      throw new ApiError(
        429,
        'too-many-episodes',
        `${this.opts.maxEpisodes} episodes are running on replica ${this.opts.replicaId}; retry later`,
        {},
        RETRY_AFTER_S,
      );
    }
    this.reserved++;
    let done = false;
    return () => {
      if (!done) this.reserved--;
      done = true;
    };
  }

  async create(
    body: CreateEpisodeBody,
  ): Promise<{ episode: Episode; observation: Awaited<ReturnType<Episode['start']>> }> {
    const repo = this.env.repoRoots.resolve(body.repo);
    if (body.role === 'solver' && body.artifact === undefined) {
      throw new ApiError(400, 'bad-request', 'a solver episode needs an artifact');
    }
    if (body.role === 'injector' && body.artifact !== undefined) {
      throw new ApiError(400, 'bad-request', 'an injector episode writes its own artifact');
    }
    const unreserve = this.reserve();
    try {
      const { runner, release } = await this.prepare(body, repo);
      if (this.closing) {
        release();
        throw new ApiError(503, 'shutting-down', 'the server is shutting down');
      }
      const id = `${this.opts.replicaId}.${randomBytes(12).toString('hex')}`;
      const episode = new Episode(id, this.opts.replicaId, body.role, runner, body.model, (ep) => {
        release();
        this.ended(ep);
      });
      episode.policyVersion = body.policyVersion ?? null;
      this.episodes.set(id, episode);
      unreserve();
      try {
        return { episode, observation: await episode.start() };
      } catch (err) {
        await this.remove(id);
        throw err;
      }
    } finally {
      unreserve();
    }
  }

  /** The role's runner; `release` frees what it holds once the episode is over. */
  private async prepare(
    body: CreateEpisodeBody,
    repo: string,
  ): Promise<{ runner: RoleRunner; release: () => void }> {
    let original: ReturnType<ServeEnvironment['snapshot']>;
    try {
      original = this.env.snapshot(repo);
    } catch (err) {
      throw err instanceof SsrError ? new ApiError(400, 'bad-request', err.message) : err;
    }
    const settings: LoopSettings = {
      budget: body.budget,
      temperature: body.model?.temperature,
      topP: body.model?.topP,
    };
    if (body.role === 'injector') {
      const strategy: InjectorStrategy = body.strategy ?? 'removal';
      return {
        runner: injectorRunner(this.env, { original, repo, strategy }, settings),
        release: () => {},
      };
    }
    const artifact = this.loadArtifact(body.artifact!, repo);
    const { report, baseline } = await this.env.validate(repo, artifact);
    if (!report.valid || !baseline) {
      const f = report.failedCheck!;
      throw new ApiError(
        422,
        'invalid-artifact',
        `the artifact is invalid: check ${f.id} (${f.name}): ${f.message}`,
        { failedCheck: { id: f.id, name: f.name, message: f.message } },
      );
    }
    const { start, release } = await this.env.acquireStart(repo, artifact);
    const runTimeoutMs = report.timings.runTimeoutMs;
    return {
      runner: solverRunner(
        this.env,
        { original, artifact, baseline, start, runTimeoutMs },
        settings,
      ),
      release,
    };
  }

  private loadArtifact(spec: NonNullable<CreateEpisodeBody['artifact']>, repo: string): Artifact {
    if (typeof spec !== 'string') return artifactFromInline(spec, repo);
    const dir = this.env.artifactRoots.resolve(spec);
    this.env.artifactRoots.assertArtifactFilesInside(dir);
    try {
      return readArtifact(dir);
    } catch (err) {
      if (err instanceof SsrError) throw new ApiError(422, 'invalid-artifact', err.message);
      throw err;
    }
  }

  get(id: string): Episode {
    const ep = this.episodes.get(id);
    if (ep) {
      ep.lastActive = Date.now();
      return ep;
    }
    const dot = id.lastIndexOf('.');
    const owner = dot > 0 ? id.slice(0, dot) : '';
    if (owner && owner !== this.opts.replicaId) {
      throw new ApiError(
        404,
        'wrong-replica',
        `episode ${id} belongs to replica ${owner}, this is ${this.opts.replicaId}: route ` +
          'requests for an episode by the prefix of its id',
      );
    }
    throw new ApiError(404, 'not-found', `no episode ${id} (never created, deleted or expired)`);
  }

  /** Managed mode on an existing episode. */
  async run(ep: Episode, override?: ModelConfig): Promise<void> {
    const config = override ?? ep.modelConfig;
    if (!config) {
      throw new ApiError(
        400,
        'no-model',
        'managed mode needs a model: give one at creation or in the /run body',
      );
    }
    await ep.run(this.modelFor(config));
  }

  /** One client per endpoint: what it learns (e.g. a server refusing logprobs) is kept. */
  private modelFor(config: ModelConfig): ModelClient {
    const key = JSON.stringify([config.baseURL, config.model, config.apiKey ?? null]);
    let client = this.clients.get(key);
    if (!client) {
      client = this.opts.modelClient(config);
      this.clients.set(key, client);
      if (this.clients.size > MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
    }
    return client;
  }

  /** Create, run to the end, dispose: nothing stays on this replica. */
  async rollout(body: CreateEpisodeBody, signal?: AbortSignal): Promise<EpisodeStateOut> {
    const { episode } = await this.create(body);
    // A client that hangs up has given up on the rollout: stop paying for it.
    const onAbort = () => void this.remove(episode.id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.run(episode);
      return episode.state();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.remove(episode.id);
    }
  }

  /** Stops the episode if it runs, disposes its sandbox, forgets it. */
  async remove(id: string): Promise<boolean> {
    const ep = this.episodes.get(id);
    if (!ep) return false;
    await ep.dispose();
    this.episodes.delete(id);
    return true;
  }

  private ended(ep: Episode): void {
    this.opts.onEvent?.({
      type: 'episode-end',
      episodeId: ep.id,
      role: ep.role,
      status: ep.status,
      reward: ep.outcome?.reward ?? null,
      endReason: ep.outcome?.trajectory.endReason,
      ...(ep.error ? { error: ep.error } : {}),
      durationMs: (ep.finishedAt ?? Date.now()) - ep.startedAt,
    });
    const max = this.opts.maxFinished ?? 4 * this.opts.maxEpisodes;
    const done = [...this.episodes.values()].filter((e) => e.status !== 'running' && !e.busy);
    done.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const e of done.slice(0, Math.max(0, done.length - max))) this.episodes.delete(e.id);
  }

  /** Episodes nobody has touched for the TTL are stopped and forgotten. */
  async sweep(now = Date.now()): Promise<void> {
    const stale = [...this.episodes.values()].filter(
      (e) => !e.busy && now - e.lastActive > this.opts.episodeTtlMs,
    );
    await Promise.all(stale.map((e) => this.remove(e.id)));
  }

  /** Refuses new episodes and stops every running one. */
  async closeAll(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.episodes.keys()].map((id) => this.remove(id)));
  }
}
