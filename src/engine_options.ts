// The engine's load-time options: the entries of config.ts's OPTIONS table marked `engine: true`
// (their one home: type, default, range and doc), checked here for library callers with messages
// that name the option, then handed to native code complete (native/addon/engine_wrap.cc reads
// every field and has no defaults of its own).
import { ENGINE_OPTIONS, type EngineOptionKey, type OptionSpec, type ServerConfig } from './config.js';
import { defaultIntraOpThreads } from './cpu_quota.js';
import { invalidArgument } from './errors.js';
import type { Logger } from './logger.js';
import type { NativeEngineOptions } from './native/types.js';
import type { ThreadBudget } from './thread_budget.js';

/** The options Engine.load takes: a model directory, then any engine option of docs/configuration.md by its key. */
export type EngineOptions = { model: string } & Partial<Omit<Pick<ServerConfig, EngineOptionKey>, 'model'>> & {
    /** Where the engine's own messages go (native warnings and errors); default: a Logger on stderr at info. */
    logger?: Logger;
    /** CPU threads shared with the other engines loaded with the same budget (thread_budget.ts); default: none. */
    threadBudget?: ThreadBudget;
  };

/** Every engine option, checked, with its default where none was given (intraOpThreads resolved). */
export type ResolvedEngineOptions = Readonly<Pick<ServerConfig, EngineOptionKey>>;

/** What a valid value of `spec` is, in a refusal's words; undefined when `v` is one. */
function expectedFor(spec: OptionSpec, v: unknown): string | undefined {
  switch (spec.kind) {
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'a boolean';
    case 'int':
    case 'number': {
      const ok =
        typeof v === 'number' &&
        Number.isFinite(v) &&
        (spec.kind === 'number' || Number.isInteger(v)) &&
        v >= (spec.min ?? -Infinity) &&
        v <= (spec.max ?? Infinity);
      return ok ? undefined : `${spec.kind === 'int' ? 'an integer' : 'a number'} between ${spec.min} and ${spec.max}`;
    }
    case 'choice':
      return spec.choices!.includes(v as string)
        ? undefined
        : spec
            .choices!.map((c) => JSON.stringify(c))
            .join(', ')
            .replace(/, ([^,]*)$/, ' or $1');
    case 'string':
      // '' where it is the default: none (pathHistory: no history kept).
      if (typeof v === 'string' && (v.length > 0 || spec.default === '') && (!spec.pattern || spec.pattern.test(v))) return undefined;
      return spec.patternText ?? (spec.key === 'model' ? 'a model directory path' : 'a non-empty string');
  }
}

export function resolveEngineOptions(o: EngineOptions): ResolvedEngineOptions {
  if (o === null || typeof o !== 'object') throw invalidArgument('options', 'an object', o);
  const out: Record<string, unknown> = {};
  for (const spec of ENGINE_OPTIONS) {
    const v = (o as Record<string, unknown>)[spec.key];
    if (v === undefined && spec.key !== 'model') {
      out[spec.key] = spec.default;
      continue;
    }
    const expected = expectedFor(spec, v);
    if (expected !== undefined) throw invalidArgument(spec.key, expected, v);
    out[spec.key] = v;
  }
  // 0: the container's CPU quota (cgroup cpu.max) shared among the workers, not the host's cores.
  if (out.intraOpThreads === 0) out.intraOpThreads = defaultIntraOpThreads(out.workers as number);
  return out as ResolvedEngineOptions;
}

export function toNativeOptions(o: ResolvedEngineOptions): NativeEngineOptions {
  return {
    model: o.model,
    device: o.device,
    dtype: o.dtype,
    workers: o.workers,
    intraOpThreads: o.intraOpThreads,
    maxBatchRequests: o.maxBatchRequests,
    maxBatchTokens: o.maxBatchTokens,
    maxDelayUs: Math.round(o.maxBatchDelayMs * 1000),
    sortByLength: o.sortByLength,
    maxTokens: o.maxTokens,
    truncate: o.truncate,
    warmup: o.warmup,
    jitOptimize: o.jitOptimize,
    batchOverheadTokens: o.batchOverheadTokens,
    fairBatchTokens: o.fairBatchTokens,
    // 'auto': from the model directory (sentence-transformers' pooling config), else cls.
    pooling: o.pooling === 'auto' ? '' : o.pooling,
  };
}
