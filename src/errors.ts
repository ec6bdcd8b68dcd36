// Typed errors and the one table that maps error codes to HTTP statuses (used by the server).
// Native errors arrive as Error objects with a `code`; toBertServeError turns them into
// BertServeError with the caller's stack.

export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_MODEL_NOT_FOUND'
  | 'ERR_MODEL_INVALID'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_TOKENIZER_INVALID'
  | 'ERR_VOCAB_MISMATCH'
  | 'ERR_DEVICE_UNAVAILABLE'
  | 'ERR_NO_MASK_TOKEN'
  | 'ERR_TOO_MANY_PREDICTIONS'
  | 'ERR_WRONG_TASK'
  | 'ERR_INPUT_TOO_LONG'
  | 'ERR_QUEUE_FULL'
  | 'ERR_DEADLINE_EXCEEDED'
  | 'ERR_CANCELLED'
  | 'ERR_INFERENCE_FAILED'
  | 'ERR_NON_FINITE_OUTPUT'
  | 'ERR_CLOSED'
  | 'ERR_ADDON_NOT_BUILT'
  | 'ERR_INTERNAL';

export class BertServeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'BertServeError';
    this.code = code;
  }
}

const KNOWN = new Set<string>([
  'ERR_INVALID_ARGUMENT',
  'ERR_MODEL_NOT_FOUND',
  'ERR_MODEL_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_TOKENIZER_INVALID',
  'ERR_VOCAB_MISMATCH',
  'ERR_DEVICE_UNAVAILABLE',
  'ERR_NO_MASK_TOKEN',
  'ERR_TOO_MANY_PREDICTIONS',
  'ERR_WRONG_TASK',
  'ERR_INPUT_TOO_LONG',
  'ERR_QUEUE_FULL',
  'ERR_DEADLINE_EXCEEDED',
  'ERR_CANCELLED',
  'ERR_INFERENCE_FAILED',
  'ERR_NON_FINITE_OUTPUT',
  'ERR_CLOSED',
  'ERR_ADDON_NOT_BUILT',
  'ERR_INTERNAL',
]);

/** Wraps a native error (or anything thrown) into a BertServeError; `stackFrom` keeps the caller's stack. */
export function toBertServeError(e: unknown, stackFrom?: Error): BertServeError {
  let out: BertServeError;
  if (e instanceof BertServeError) out = e;
  else {
    const code = (e as { code?: unknown })?.code;
    const message = e instanceof Error ? e.message : String(e);
    out = new BertServeError(typeof code === 'string' && KNOWN.has(code) ? (code as ErrorCode) : 'ERR_INTERNAL', message);
  }
  if (stackFrom?.stack) out.stack = `${out.name} [${out.code}]: ${out.message}\n${stackFrom.stack.split('\n').slice(1).join('\n')}`;
  return out;
}

export function invalidArgument(name: string, expected: string, got: unknown): BertServeError {
  const shown =
    got === null
      ? 'null'
      : Array.isArray(got)
        ? 'an array'
        : typeof got === 'string'
          ? `string ${JSON.stringify(got.slice(0, 40))}`
          : typeof got === 'number' || typeof got === 'boolean' || typeof got === 'bigint'
            ? `${typeof got} ${String(got).slice(0, 40)}`
            : typeof got === 'object'
              ? 'an object'
              : typeof got;
  return new BertServeError('ERR_INVALID_ARGUMENT', `Expected ${expected} for ${name} but received ${shown}`);
}

/** HTTP status and error_type for each code: the single mapping the server uses. */
export const HTTP_STATUS: Record<ErrorCode, { status: number; type: string }> = {
  ERR_INVALID_ARGUMENT: { status: 422, type: 'validation' },
  ERR_NO_MASK_TOKEN: { status: 422, type: 'validation' },
  ERR_TOO_MANY_PREDICTIONS: { status: 422, type: 'validation' },
  ERR_WRONG_TASK: { status: 422, type: 'validation' },
  ERR_INPUT_TOO_LONG: { status: 413, type: 'validation' },
  ERR_QUEUE_FULL: { status: 429, type: 'overloaded' },
  ERR_CLOSED: { status: 503, type: 'unhealthy' },
  ERR_DEADLINE_EXCEEDED: { status: 504, type: 'timeout' },
  ERR_CANCELLED: { status: 499, type: 'cancelled' },
  ERR_INFERENCE_FAILED: { status: 500, type: 'backend' },
  // The model's output for this request held NaN or Inf: its message names the model and where, and
  // is shown as is (it describes the model's output, not the server's internals).
  ERR_NON_FINITE_OUTPUT: { status: 500, type: 'non_finite_output' },
  ERR_MODEL_NOT_FOUND: { status: 500, type: 'backend' },
  ERR_MODEL_INVALID: { status: 500, type: 'backend' },
  ERR_CONFIG_INVALID: { status: 500, type: 'backend' },
  ERR_TOKENIZER_INVALID: { status: 500, type: 'backend' },
  ERR_VOCAB_MISMATCH: { status: 500, type: 'backend' },
  ERR_DEVICE_UNAVAILABLE: { status: 500, type: 'backend' },
  ERR_ADDON_NOT_BUILT: { status: 500, type: 'backend' },
  ERR_INTERNAL: { status: 500, type: 'backend' },
};
