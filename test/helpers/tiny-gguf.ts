/**
 * A tiny random-weight llama model as a GGUF v3 file, so the embedded (node-llama-cpp) client
 * can be tested end to end without downloading a real model: no npm package ships one. It
 * speaks garbage, but it loads, tokenizes (SPM with byte fallback, so any text round-trips)
 * and generates on the CPU in milliseconds. Same seed, same bytes.
 */
import { writeFileSync } from 'node:fs';

const N_EMBD = 64;
const N_HEAD = 4;
const N_FF = 128;
const N_LAYER = 2;
const ALIGNMENT = 32;

/** Whole-word pieces on top of the bytes; SPM marks a leading space with U+2581. */
const WORDS = ['▁', '▁the', '▁a', '▁is', '▁to', '▁bug', '▁test', '▁tool', 'e', 't', 'o', 's'];

// GGUF metadata value types.
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const STRING = 8;
const ARRAY = 9;

type Value =
  | { type: typeof UINT32 | typeof INT32 | typeof FLOAT32; value: number }
  | { type: typeof STRING; value: string }
  | { type: typeof ARRAY; of: typeof INT32 | typeof FLOAT32; values: number[] }
  | { type: typeof ARRAY; of: typeof STRING; values: string[] };

/** Little-endian byte sink. */
class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  i32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.push(b);
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  f32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Buffer): void {
    this.push(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.push(Buffer.alloc(pad));
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(w: Writer, v: Value): void {
  w.u32(v.type);
  switch (v.type) {
    case STRING:
      w.str(v.value);
      break;
    case ARRAY:
      w.u32(v.of);
      w.u64(v.values.length);
      for (const x of v.values) {
        if (v.of === STRING) w.str(x as string);
        else if (v.of === INT32) w.i32(x as number);
        else w.f32(x as number);
      }
      break;
    case FLOAT32:
      w.f32(v.value);
      break;
    case INT32:
      w.i32(v.value);
      break;
    default:
      w.u32(v.value);
  }
}

/** mulberry32: small, seedable, good enough for weights nobody reads. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TinyGguf {
  path: string;
  vocabSize: number;
  contextLength: number;
  bytes: number;
}

/** Writes the model to `path`. `contextLength` is the trained context the file declares. */
export function writeTinyGguf(
  path: string,
  opts: { seed?: number; contextLength?: number } = {},
): TinyGguf {
  const random = prng(opts.seed ?? 1);
  const contextLength = opts.contextLength ?? 8192;
  const hex = (i: number) => i.toString(16).toUpperCase().padStart(2, '0');
  const tokens = [
    '<unk>',
    '<s>',
    '</s>',
    ...Array.from({ length: 256 }, (_, i) => `<0x${hex(i)}>`),
  ];
  const types = [2, 3, 3, ...Array<number>(256).fill(6)];
  tokens.push(...WORDS);
  types.push(...WORDS.map(() => 1));
  // SPM merges the highest-scoring pieces first; bytes are only the fallback.
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -(i - 259)));
  const nVocab = tokens.length;

  const metadata: [string, Value][] = [
    ['general.architecture', { type: STRING, value: 'llama' }],
    ['general.name', { type: STRING, value: 'ssr-tiny-random' }],
    ['general.alignment', { type: UINT32, value: ALIGNMENT }],
    ['llama.context_length', { type: UINT32, value: contextLength }],
    ['llama.embedding_length', { type: UINT32, value: N_EMBD }],
    ['llama.block_count', { type: UINT32, value: N_LAYER }],
    ['llama.feed_forward_length', { type: UINT32, value: N_FF }],
    ['llama.attention.head_count', { type: UINT32, value: N_HEAD }],
    ['llama.attention.head_count_kv', { type: UINT32, value: N_HEAD }],
    ['llama.rope.dimension_count', { type: UINT32, value: N_EMBD / N_HEAD }],
    ['llama.attention.layer_norm_rms_epsilon', { type: FLOAT32, value: 1e-5 }],
    ['llama.vocab_size', { type: UINT32, value: nVocab }],
    ['tokenizer.ggml.model', { type: STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ARRAY, of: STRING, values: tokens }],
    ['tokenizer.ggml.scores', { type: ARRAY, of: FLOAT32, values: scores }],
    ['tokenizer.ggml.token_type', { type: ARRAY, of: INT32, values: types }],
    ['tokenizer.ggml.unknown_token_id', { type: UINT32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: UINT32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: UINT32, value: 2 }],
  ];

  // Dimensions in ggml order (innermost first), F32 throughout. Norm weights are ones.
  const tensors: { name: string; dims: number[]; norm?: boolean }[] = [
    { name: 'token_embd.weight', dims: [N_EMBD, nVocab] },
    { name: 'output_norm.weight', dims: [N_EMBD], norm: true },
    { name: 'output.weight', dims: [N_EMBD, nVocab] },
  ];
  for (let i = 0; i < N_LAYER; i++) {
    const b = `blk.${i}`;
    tensors.push(
      { name: `${b}.attn_norm.weight`, dims: [N_EMBD], norm: true },
      { name: `${b}.attn_q.weight`, dims: [N_EMBD, N_EMBD] },
      { name: `${b}.attn_k.weight`, dims: [N_EMBD, N_EMBD] },
      { name: `${b}.attn_v.weight`, dims: [N_EMBD, N_EMBD] },
      { name: `${b}.attn_output.weight`, dims: [N_EMBD, N_EMBD] },
      { name: `${b}.ffn_norm.weight`, dims: [N_EMBD], norm: true },
      { name: `${b}.ffn_gate.weight`, dims: [N_EMBD, N_FF] },
      { name: `${b}.ffn_up.weight`, dims: [N_EMBD, N_FF] },
      { name: `${b}.ffn_down.weight`, dims: [N_FF, N_EMBD] },
    );
  }

  const w = new Writer();
  w.bytes(Buffer.from('GGUF', 'latin1'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.str(key);
    writeValue(w, value);
  }
  const data: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = t.norm ? 1 : (random() - 0.5) * 0.2;
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    const bytes = Buffer.from(values.buffer);
    const padded = Buffer.alloc(Math.ceil(bytes.length / ALIGNMENT) * ALIGNMENT);
    bytes.copy(padded);
    data.push(padded);
    offset += padded.length;
  }
  w.padTo(ALIGNMENT);
  for (const d of data) w.bytes(d);
  const file = w.done();
  writeFileSync(path, file);
  return { path, vocabSize: nVocab, contextLength, bytes: file.length };
}
