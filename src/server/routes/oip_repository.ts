// The Open Inference Protocol's model repository extension, in Triton's shapes (model_control.ts
// does the work; docs/http.md#load-reload-and-unload-at-run-time):
//   POST /v2/repository/index                  [{name, version, state, reason}, ...]; body {"ready": true}: READY ones only
//   POST /v2/repository/models/{name}/load     load, or reload when served; body {"parameters": {"path": DIR}} optional
//   POST /v2/repository/models/{name}/unload   unload (not the default model: 409)
// Load and unload answer 503 unless --model-control explicit (as Triton with model control off);
// the index answers either way. None is open: with --api-key set they need the key. The body is
// small JSON, read here within BODY_LIMIT.
import * as A from '../api/responses.js';
import { readBody, decodeUtf8 } from '../body.js';
import type { RouteContext } from '../context.js';
import type { Exchange } from '../exchange.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from '../json_depth.js';
import { ControlError } from '../model_control.js';
import type { StatusRoute } from './route.js';

/** The largest body these routes read. */
const BODY_LIMIT = 64 * 1024;
const TAG = 'Open Inference Protocol v2';
const MODELS = '/v2/repository/models/';

/** The request's JSON object body ({} when empty); undefined when answered (400/413) or the client went away. */
async function jsonBody(ex: Exchange): Promise<Record<string, unknown> | undefined> {
  const bytes = await readBody(ex, BODY_LIMIT);
  if (bytes === undefined || ex.done) return undefined;
  if (bytes.length === 0) return {};
  const text = decodeUtf8(bytes);
  let value: unknown;
  try {
    if (text === undefined) throw new Error('the body is not valid UTF-8');
    if (jsonDeeperThan(text)) throw new Error(`it nests more than ${MAX_JSON_DEPTH} levels deep`);
    value = JSON.parse(text);
  } catch (e) {
    return void ex.sendError(400, 'malformed', `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return void ex.sendError(400, 'validation', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The {name} of /v2/repository/models/{name}/<action>, percent-decoded. */
function modelName(ex: Exchange, action: string): string {
  const raw = ex.url.slice(MODELS.length, ex.url.length - action.length - 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Runs a repository operation, answering its ControlError (or an unexpected error: 500, logged) itself. */
async function answer(ctx: RouteContext, ex: Exchange, op: () => Promise<string>): Promise<void> {
  let body: string;
  try {
    body = await op();
  } catch (e) {
    if (e instanceof ControlError)
      return void ex.sendError(e.status, e.type, e.message, e.status === 429 ? [['Retry-After', '1']] : undefined);
    throw e; // the router logs it and answers 500
  }
  ex.sendJson(200, body);
}

/** A body's `parameters` object, checked to hold only `allowed` keys. */
function parameters(body: Record<string, unknown>, allowed: readonly string[]): Record<string, unknown> {
  const p = body.parameters ?? {};
  if (p === null || typeof p !== 'object' || Array.isArray(p))
    throw new ControlError(400, 'validation', '"parameters" must be a JSON object');
  for (const k of Object.keys(p)) {
    if (!allowed.includes(k)) {
      throw new ControlError(
        400,
        'validation',
        `parameters.${k} is not supported; ${allowed.length ? `only ${allowed.join(', ')}` : 'none is'}`,
      );
    }
  }
  return p as Record<string, unknown>;
}

const ENTRY = A.object({ name: A.string, version: A.string, state: A.string, reason: A.string });
const LOADED = A.object({ name: A.string, version: A.string, previous_version: { type: ['string', 'null'] }, state: A.string });

export const oipRepositoryIndex: StatusRoute = {
  kind: 'status',
  method: 'POST',
  path: '/v2/repository/index',
  open: false,
  perModel: false,
  doc: {
    summary: 'Model repository index (Open Inference Protocol)',
    description:
      'Every served model (READY, with its version) and the model repository\'s other directories (UNAVAILABLE, with why). {"ready": true}: the READY ones only.',
    tag: TAG,
  },
  body: A.object({ ready: A.boolean }, []),
  content: { 'application/json': A.list(ENTRY) },
  async handle(ctx, ex) {
    const body = await jsonBody(ex);
    if (!body) return;
    await answer(ctx, ex, () => {
      if (body.ready !== undefined && typeof body.ready !== 'boolean')
        throw new ControlError(400, 'validation', '"ready" must be true or false');
      return Promise.resolve(JSON.stringify(ctx.models.control.index(body.ready === true)));
    });
  },
};

export const oipRepositoryLoad: StatusRoute = {
  kind: 'status',
  method: 'POST',
  path: '/v2/repository/models/{name}/load',
  anyModelName: true,
  open: false,
  perModel: false,
  doc: {
    summary: 'Load or reload a model (Open Inference Protocol)',
    description:
      'Loads the model and warms it; a model already served is reloaded beside the old version, which serves until the switch and is freed once its requests are answered. ' +
      'parameters.path: a directory inside --model-repository. 400 when the load fails (the old version keeps serving) or the path is outside the repository; ' +
      '503 unless --model-control explicit.',
    tag: TAG,
  },
  body: A.object({ parameters: A.object({ path: A.string }, []) }, []),
  content: { 'application/json': LOADED },
  async handle(ctx, ex) {
    const name = modelName(ex, 'load');
    const body = await jsonBody(ex);
    if (!body) return;
    await answer(ctx, ex, async () => {
      const path = parameters(body, ['path']).path;
      if (path !== undefined && (typeof path !== 'string' || path === '')) {
        throw new ControlError(400, 'validation', 'parameters.path must be a non-empty string');
      }
      const { version, previousVersion } = await ctx.models.control.load(name, path);
      return JSON.stringify({ name, version, previous_version: previousVersion, state: 'READY' });
    });
  },
};

export const oipRepositoryUnload: StatusRoute = {
  kind: 'status',
  method: 'POST',
  path: '/v2/repository/models/{name}/unload',
  anyModelName: true,
  open: false,
  perModel: false,
  doc: {
    summary: 'Unload a model (Open Inference Protocol)',
    description:
      'Stops serving the model at once (404 from then on), lets the requests admitted on it finish, frees it, then answers. ' +
      '409 for the default model; 503 unless --model-control explicit.',
    tag: TAG,
  },
  content: { 'application/json': A.object({ name: A.string, state: A.string }) },
  async handle(ctx, ex) {
    const name = modelName(ex, 'unload');
    const body = await jsonBody(ex);
    if (!body) return;
    await answer(ctx, ex, async () => {
      parameters(body, ['unload_dependents']); // Triton's; a model here has no dependents
      await ctx.models.control.unload(name);
      return JSON.stringify({ name, state: 'UNAVAILABLE' });
    });
  },
};

export const oipRepository: readonly StatusRoute[] = [oipRepositoryIndex, oipRepositoryLoad, oipRepositoryUnload];
