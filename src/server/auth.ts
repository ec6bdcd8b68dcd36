// --api-key: requests carry `Authorization: Bearer KEY` (as text-embeddings-inference). The key is
// compared in constant time: both sides are hashed (SHA-256) to equal-length digests first, so
// crypto.timingSafeEqual tells nothing about the key's length or content by its timing. A refusal
// is 401 with `WWW-Authenticate: Bearer`, written from bytes built once (no body parsing, no
// engine call). Which paths are open without the key is each route's declaration (`open`:
// the probes, which orchestrators call without credentials, and the API description). JS thread only.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Refusal } from './refusals.js';

/** The key from --api-key, or read from --api-key-file (trailing newline dropped); '' when neither. */
export function resolveApiKey(config: { apiKey: string; apiKeyFile: string }): string {
  if (config.apiKey !== '' && config.apiKeyFile !== '') throw new Error('give --api-key or --api-key-file, not both');
  if (config.apiKeyFile === '') return config.apiKey;
  let key: string;
  try {
    key = readFileSync(config.apiKeyFile, 'utf8').trim();
  } catch (e) {
    throw new Error(`--api-key-file ${config.apiKeyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (key === '') throw new Error(`--api-key-file ${config.apiKeyFile} is empty`);
  return key;
}

function refusal(message: string, challenge: string, status = 401): Refusal {
  return Object.freeze({
    status,
    body: Buffer.from(JSON.stringify({ error: message, error_type: status === 401 ? 'unauthorized' : 'malformed' })),
    headers: [
      ['Content-Type', 'application/json'],
      ['WWW-Authenticate', challenge],
    ] as const,
    close: false,
  });
}

// RFC 6750: no error code when no credentials were sent; invalid_token when they were wrong.
export const NO_KEY = refusal('this server needs an API key: send "Authorization: Bearer KEY"', 'Bearer realm="bert-serve"');
export const WRONG_KEY = refusal('the API key is not valid', 'Bearer realm="bert-serve", error="invalid_token"');
// RFC 6750 3.1: a request that repeats a parameter is invalid_request, 400. The HTTP libraries keep
// different lines of a repeated header, so neither is trusted.
export const TWO_KEYS = refusal(
  'the request has more than one Authorization header; send one',
  'Bearer realm="bert-serve", error="invalid_request"',
  400,
);

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class ApiKeyCheck {
  readonly #digest: Buffer;

  constructor(key: string) {
    this.#digest = sha256(key);
  }

  /** undefined when `authorization` (sent once: `repeated` false) carries the key; else the refusal to answer. */
  check(authorization: string, repeated = false): Refusal | undefined {
    if (repeated) return TWO_KEYS;
    if (authorization === '') return NO_KEY;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) return WRONG_KEY;
    return timingSafeEqual(sha256(m[1]), this.#digest) ? undefined : WRONG_KEY;
  }
}
