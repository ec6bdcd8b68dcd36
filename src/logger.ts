// Logger: one line per event on stderr, as JSON ({"time","level","msg",...fields}) or as plain text
// ("2025-01-01T00:00:00.000Z INFO  msg key=value"). Synchronous writes (stderr is synchronous for
// files and pipes on Linux), so the last lines before an exit are never lost. Single-threaded: used
// from the JS thread only.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  level?: LogLevel;
  /** "json" (one JSON object a line) or "text"; "auto": text on a terminal, JSON otherwise. */
  format?: LogFormat | 'auto';
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void;
}

export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  #min: number;
  #write: (line: string) => void;
  #base: LogFields;

  constructor(options: LoggerOptions = {}, base: LogFields = {}) {
    this.level = options.level ?? 'info';
    const format = options.format ?? 'auto';
    this.format = format === 'auto' ? (process.stderr.isTTY ? 'text' : 'json') : format;
    this.#min = RANK[this.level];
    this.#write = options.write ?? ((line) => process.stderr.write(line));
    this.#base = base;
  }

  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger {
    return new Logger({ level: this.level, format: this.format, write: this.#write }, { ...this.#base, ...fields });
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= this.#min;
  }

  debug(msg: string, fields?: LogFields): void {
    this.#log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#log('error', msg, fields);
  }

  #log(level: Exclude<LogLevel, 'silent'>, msg: string, fields: LogFields | undefined): void {
    if (RANK[level] < this.#min) return;
    const all = fields ? { ...this.#base, ...fields } : this.#base;
    const time = new Date().toISOString();
    let line: string;
    if (this.format === 'json') {
      line = safeStringify({ time, level, msg, ...all });
    } else {
      let extra = '';
      for (const [k, v] of Object.entries(all)) {
        if (v === undefined) continue;
        const s = typeof v === 'string' ? v : safeStringify(v);
        extra += ` ${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
      }
      line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`;
    }
    try {
      this.#write(line + '\n');
    } catch {
      // stderr closed: nothing sensible left to do with a log line.
    }
  }
}

/** Turns an error into loggable fields (message, code, stack). */
export function errorFields(e: unknown): LogFields {
  if (e instanceof Error) {
    return { error: e.message, code: (e as { code?: unknown }).code, stack: e.stack };
  }
  return { error: String(e) };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'undefined';
  } catch {
    return '"[unserializable]"';
  }
}
