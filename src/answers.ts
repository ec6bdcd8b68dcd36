// Answers as the native engine serializes them: JSON bytes with the request's timings. Joined and
// wrapped here without re-encoding the numbers in them (no JSON encoding of float arrays on the JS
// thread).

export interface Timings {
  tokenizeUs: number;
  queueUs: number;
  /** The batch's wait for the CPU threads other models' batches held (a shared thread budget); not in inferenceUs. */
  threadWaitUs: number;
  inferenceUs: number;
}

/** An answer already serialized by the native engine, ready to be written as an HTTP body. */
export interface JsonAnswer {
  body: Buffer;
  timings: Timings;
  /** Tokens the model ran on (specials included), summed over the inputs of a joined answer. */
  tokens: number;
}

export function parseAnswer(a: JsonAnswer): unknown {
  return JSON.parse(a.body.toString('utf8'));
}

/** The slowest part's timings (the parts ran concurrently) and the tokens of all. */
function combine(answers: readonly JsonAnswer[]): { timings: Timings; tokens: number } {
  const timings: Timings = { tokenizeUs: 0, queueUs: 0, threadWaitUs: 0, inferenceUs: 0 };
  let tokens = 0;
  for (const a of answers) {
    tokens += a.tokens;
    timings.tokenizeUs = Math.max(timings.tokenizeUs, a.timings.tokenizeUs);
    timings.queueUs = Math.max(timings.queueUs, a.timings.queueUs);
    timings.threadWaitUs = Math.max(timings.threadWaitUs, a.timings.threadWaitUs);
    timings.inferenceUs = Math.max(timings.inferenceUs, a.timings.inferenceUs);
  }
  return { timings, tokens };
}

/** Joins already-serialized answers into one JSON list. */
export async function joinAnswers(parts: Promise<JsonAnswer>[]): Promise<JsonAnswer> {
  const answers = await Promise.all(parts);
  const bufs: Buffer[] = [Buffer.from('[')];
  answers.forEach((a, i) => {
    if (i > 0) bufs.push(Buffer.from(','));
    bufs.push(a.body);
  });
  bufs.push(Buffer.from(']'));
  return { body: Buffer.concat(bufs), ...combine(answers) };
}

/**
 * Wraps already-serialized answers in an envelope: `head`, then each part between `before(i)` and
 * `after`, separated by commas, then `tail` (OpenAI's {"object":"list","data":[...]}).
 */
export function wrapAnswers(
  parts: readonly JsonAnswer[],
  head: string,
  before: (i: number) => string,
  after: string,
  tail: (tokens: number) => string,
): JsonAnswer {
  const { timings, tokens } = combine(parts);
  const bufs: Buffer[] = [Buffer.from(head)];
  parts.forEach((p, i) => bufs.push(Buffer.from(`${i ? ',' : ''}${before(i)}`), p.body, Buffer.from(after)));
  bufs.push(Buffer.from(tail(tokens)));
  return { body: Buffer.concat(bufs), timings, tokens };
}

/** An answer built in JavaScript (small: scores, not vectors), with the timings of the parts it came from. */
export function jsonAnswer(value: unknown, from: readonly JsonAnswer[] = []): JsonAnswer {
  return { body: Buffer.from(JSON.stringify(value)), ...combine(from) };
}

/** `"<base64>"` (a natively serialized JSON string) -> Float32Array. */
export function decodeFloat32Base64(body: Buffer): Float32Array {
  const bytes = Buffer.from(body.subarray(1, body.length - 1).toString('latin1'), 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
