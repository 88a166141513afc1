/**
 * The wire format of `ssr serve`, as zod schemas: they validate requests and generate the
 * OpenAPI document, so the two cannot drift apart. Messages and tools use the OpenAI
 * chat-completions shape, because that is what trainers' rollout workers already build.
 */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z
      .looseObject({
        message: z.string(),
        kind: z.string().openapi({
          description:
            'bad-request | forbidden-path | not-found | wrong-replica | invalid-artifact | ' +
            'episode-done | episode-busy | not-waiting | no-model | too-many-episodes | ' +
            'episode-failed | not-ready | policy-exists | shutting-down | internal',
        }),
        failedCheck: z
          .object({ id: z.number(), name: z.string(), message: z.string() })
          .optional()
          .openapi({
            description: 'For invalid-artifact: the first consistency check that failed',
          }),
      })
      .openapi({ description: 'Never a stack trace' }),
  })
  .openapi('Error');

export const BudgetSchema = z
  .strictObject({
    maxTurns: z.int().min(1).max(1000).optional().openapi({ description: 'Default 128' }),
    wallTimeMs: z
      .int()
      .min(1000)
      .max(24 * 3600_000)
      .optional()
      .openapi({ description: 'Whole episode; default 1 hour' }),
    maxTokensPerTurn: z.int().min(1).optional(),
  })
  .openapi('Budget');

export const ModelConfigSchema = z
  .strictObject({
    baseURL: z
      .url({ protocol: /^https?$/ })
      .openapi({ example: 'http://127.0.0.1:8000/v1', description: 'OpenAI-compatible server' }),
    model: z.string().min(1).openapi({ example: 'Qwen/Qwen3-8B' }),
    apiKey: z.string().optional().openapi({ description: 'Never echoed back' }),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().gt(0).max(1).optional(),
  })
  .openapi('ModelConfig', {
    description:
      'The trainer’s inference endpoint, called by the server itself in managed mode (/run, ' +
      '/v1/rollouts). Sampling settings apply from episode creation on.',
  });

export const InlineArtifactSchema = z
  .strictObject({
    test_script: z.string(),
    test_files: z.array(z.string().min(1)).min(1),
    test_parser: z.string(),
    bug_inject_diff: z.string(),
    test_weaken_diff: z.string(),
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
  })
  .openapi('InlineArtifact', { description: 'The five artifact files (SSR-SPEC section 2)' });

export const CreateEpisodeSchema = z
  .strictObject({
    role: z.enum(['solver', 'injector']),
    repo: z
      .string()
      .min(1)
      .openapi({
        description:
          'Server-side repository directory under one of the --repo-root dirs: absolute, or ' +
          'relative to a root',
        example: 'textkit',
      }),
    artifact: z
      .union([
        z.string().min(1).openapi({
          description: 'Server-side artifact directory under an --artifact-root',
        }),
        InlineArtifactSchema,
      ])
      .optional()
      .openapi({ description: 'Required for the solver (validated first); not for the injector' }),
    strategy: z
      .enum(['direct', 'removal', 'history'])
      .optional()
      .openapi({ description: 'Injector prompt; default removal' }),
    budget: BudgetSchema.optional(),
    model: ModelConfigSchema.optional(),
    policyVersion: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .openapi({
        description:
          'The policy version the worker samples with, echoed in the episode state and its ' +
          'trajectory (policy.version), so rollouts can be tagged and stale ones dropped',
        example: 'step-41',
      }),
  })
  .openapi('CreateEpisode');

export const RolloutSchema = CreateEpisodeSchema.extend({ model: ModelConfigSchema }).openapi(
  'Rollout',
);

export const RunSchema = z
  .strictObject({ model: ModelConfigSchema.optional() })
  .openapi('Run', { description: 'Optional: a model instead of the one given at creation' });

const ToolCallInSchema = z.looseObject({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.looseObject({
    name: z.string(),
    arguments: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .optional()
      .openapi({ description: 'JSON text as the model wrote it (an object is accepted too)' }),
  }),
});

const TokenLogprobSchema = z.looseObject({
  token: z.string().openapi({ description: 'vLLM "token_id:N" form gives the token id' }),
  logprob: z.number(),
});

export const StepSchema = z
  .strictObject({
    message: z.looseObject({
      role: z.literal('assistant').optional(),
      content: z.string().nullable().optional(),
      tool_calls: z.array(ToolCallInSchema).optional(),
    }),
    finish_reason: z.string().optional(),
    usage: z
      .looseObject({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) })
      .optional(),
    logprobs: z
      .union([
        z.looseObject({ content: z.array(TokenLogprobSchema).nullable() }),
        z.array(TokenLogprobSchema),
      ])
      .nullable()
      .optional()
      .openapi({ description: 'OpenAI choice.logprobs, or its content list' }),
    prompt_token_ids: z.array(z.int()).optional(),
    token_ids: z.array(z.int()).optional().openapi({ description: 'Completion token ids' }),
  })
  .openapi('Step', {
    description: 'The policy’s reply to the last observation, as an OpenAI chat choice',
  });

export const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string().nullable(),
    tool_calls: z
      .array(
        z.object({
          id: z.string(),
          type: z.literal('function'),
          function: z.object({ name: z.string(), arguments: z.string() }),
        }),
      )
      .optional(),
    tool_call_id: z.string().optional(),
  })
  .openapi('ChatMessage');

export const ToolSchema = z
  .object({
    type: z.literal('function'),
    function: z.object({
      name: z.string(),
      description: z.string(),
      parameters: z.record(z.string(), z.unknown()),
    }),
  })
  .openapi('Tool');

export const TrajectorySchema = z
  .object({
    messages: z.array(ChatMessageSchema),
    tools: z.array(ToolSchema),
    turns: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .openapi({
        description:
          'Per model call: response (message, finishReason, usage, logprobs, token ids, ' +
          'latencyMs) and tool exchanges; present once the episode is over',
      }),
    endReason: z.string().optional(),
    endDetail: z.string().optional(),
    submitted: z.boolean().optional(),
    usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }).optional(),
    durationMs: z.number().optional(),
    budget: z.record(z.string(), z.unknown()).optional(),
    policy: z
      .object({ model: z.string().nullable(), version: z.string().nullable() })
      .optional()
      .openapi({
        description:
          'model: what the inference server reported on the last model call (null in stepwise ' +
          'mode or before any); version: the policyVersion given at creation (null if none)',
      }),
  })
  .openapi('Trajectory');

/** What an episode's outcome adds once it is over: the reward and its evidence. */
const OutcomeFields = {
  status: z.enum(['running', 'done', 'failed']),
  endReason: z.string().optional(),
  reward: z
    .number()
    .nullable()
    .optional()
    .openapi({
      description:
        'When done. Solver: +1 solved, -1 otherwise. Injector: -1 for a missing or invalid ' +
        'artifact, else null (see rewardNote)',
    }),
  rewardNote: z.string().optional(),
  evaluation: z
    .object({
      solved: z.boolean(),
      reason: z.string(),
      failing: z.array(z.string()),
      discarded: z.array(z.string()),
    })
    .optional()
    .openapi({ description: 'Solver: the grading with the oracle tests reset' }),
  patch: z.string().optional().openapi({ description: 'Solver: its diff against the start' }),
  validation: z
    .object({
      valid: z.boolean(),
      failedCheck: z.object({ id: z.number(), name: z.string(), message: z.string() }).nullable(),
      checks: z.array(
        z.object({ id: z.number(), name: z.string(), status: z.string(), message: z.string() }),
      ),
      warnings: z.array(z.string()),
    })
    .nullable()
    .optional()
    .openapi({ description: 'Injector: the consistency checks of its artifact' }),
  artifact: InlineArtifactSchema.nullable()
    .optional()
    .openapi({ description: 'Injector: the artifact it wrote, ready to pass to solvers' }),
  error: z.string().optional().openapi({ description: 'Why a failed episode failed' }),
};

export const EpisodeStateSchema = z
  .object({
    episodeId: z.string(),
    replicaId: z.string(),
    role: z.enum(['solver', 'injector']),
    policyVersion: z
      .string()
      .nullable()
      .openapi({ description: 'As given at creation (null if none)' }),
    ...OutcomeFields,
    trajectory: TrajectorySchema,
  })
  .openapi('EpisodeState');

export const CreatedSchema = z
  .object({
    episodeId: z.string().openapi({ description: '<replica-id>.<hex>: route by the prefix' }),
    replicaId: z.string(),
    policyVersion: z.string().nullable(),
    observation: z.object({ messages: z.array(ChatMessageSchema), tools: z.array(ToolSchema) }),
    done: z.boolean(),
  })
  .openapi('Created');

export const StepResultSchema = z
  .object({
    observation: z.object({
      messages: z
        .array(ChatMessageSchema)
        .openapi({ description: 'Messages appended after the step’s assistant message' }),
    }),
    done: z.boolean(),
    ...OutcomeFields,
  })
  .openapi('StepResult');

export const HealthSchema = z
  .object({
    ok: z.boolean(),
    replicaId: z.string(),
    episodes: z.object({ active: z.number(), finished: z.number(), max: z.number() }),
    liveSandboxes: z.number(),
    isolation: z.string(),
  })
  .openapi('Health');

export const EpisodeIdParams = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'node-1.0123456789abcdef01234567' }),
});

export const RunIdParams = z.object({
  runId: z
    .string()
    .min(1)
    .openapi({
      param: { name: 'runId', in: 'path' },
      description: 'The run folder’s name under --run-root',
      example: 'r1',
    }),
});

export const PolicyPostSchema = z
  .strictObject({
    after_step: z.int().min(0).openapi({ description: 'The finished step trained on (from 0)' }),
    version: z.string().min(1).max(256).openapi({ example: 'v2' }),
    model: z.string().min(1).max(256).optional().openapi({
      description: 'Model name ssr asks the inference server for from now on',
      example: 'policy-v2',
    }),
  })
  .openapi('PolicyPost', {
    description:
      'The trainer’s policy after a step of `ssr selfplay --sync file`: written as ' +
      'sync/policy-<after_step>.json, which lets the run sample the next step',
  });

export const PolicyWrittenSchema = z
  .object({
    runId: z.string(),
    afterStep: z.int(),
    file: z.string().openapi({ description: 'Relative to the run folder' }),
    policy: z.object({ version: z.string(), model: z.string().optional() }),
  })
  .openapi('PolicyWritten');

export const ReadyFileSchema = z
  .object({
    step: z.int(),
    rows: z.int(),
    export: z.string().openapi({ description: 'step-<N>.jsonl, in the run’s sync/ folder' }),
    policy_version: z.string().nullable(),
    pending: z.int().optional(),
  })
  .openapi('StepReady');

export const RunSyncSchema = z
  .object({
    runId: z.string(),
    ready: z.array(ReadyFileSchema).openapi({ description: 'Exported steps, ascending' }),
    policies: z.array(
      z.object({ after_step: z.int(), version: z.string(), model: z.string().optional() }),
    ),
    awaiting: z
      .int()
      .nullable()
      .openapi({
        description:
          'The latest exported step without a policy: the run waits for it (unless it was the ' +
          'run’s last step); null when none',
      }),
  })
  .openapi('RunSync');

export type PolicyPostBody = z.infer<typeof PolicyPostSchema>;
export type RunSyncOut = z.infer<typeof RunSyncSchema>;
export type CreateEpisodeBody = z.infer<typeof CreateEpisodeSchema>;
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type InlineArtifact = z.infer<typeof InlineArtifactSchema>;
export type StepBody = z.infer<typeof StepSchema>;
export type ChatMessageOut = z.infer<typeof ChatMessageSchema>;
export type ToolOut = z.infer<typeof ToolSchema>;
export type TrajectoryOut = z.infer<typeof TrajectorySchema>;
export type EpisodeStateOut = z.infer<typeof EpisodeStateSchema>;
export type StepResultOut = z.infer<typeof StepResultSchema>;
export type OutcomeOut = Omit<
  EpisodeStateOut,
  'episodeId' | 'replicaId' | 'role' | 'policyVersion' | 'trajectory'
>;
