// Loading, reloading and unloading models while the server runs (--model-control explicit), for the
// Open Inference Protocol's repository routes (routes/oip_repository.ts), in Triton's shapes.
//
// - One operation at a time, in arrival order (as Triton serializes them): a load or unload waits for
//   the one before it, whatever model it names; at most MAX_WAITING wait (then 429). So two loads of
//   one name never race, and a load's memory check (point of --max-memory) sees what is resident.
// - A load of a name already served is a reload: the new version loads and warms beside the old one
//   (which keeps serving), then the name switches to it in one step on the JS thread (requests
//   admitted from then on run on the new engine and carry its x-model-version); the old engine is
//   closed once no request admitted on it is left (engine_holds.ts: in-flight and queued requests
//   finish on it), and the answer is sent after that, so a 200 means the old version's memory is
//   given back. A load that fails leaves the model served as it was and answers why.
// - Unload: the name stops being served at once (new requests: 404 listing the served names), the
//   requests admitted on it finish, then its engine is closed. The default model (the one the
//   unprefixed routes serve) cannot be unloaded (409): reload it instead.
// - Where a model is loaded from: parameters.path, a directory inside --model-repository only, checked
//   after every symbolic link and ".." is resolved (400 otherwise); else the directory the name is
//   served from now (a reload); else the repository's subdirectory of that name, as at start-up.
// JS thread only.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Engine } from '../engine.js';
import { toBertServeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MODEL_NAME, MODEL_NAME_TEXT } from './model_specs.js';
import { whenUnheld } from './engine_holds.js';
import { fullGc } from './full_gc.js';

/** Operations that may wait for the one running (more: 429). */
export const MAX_WAITING = 16;

/** A refusal: answered with this status, error_type and message. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** One entry of POST /v2/repository/index (Triton's shape). */
export interface IndexEntry {
  name: string;
  /** The served version's content hash (x-model-version); '' when none is served. */
  version: string;
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  /** Why it is not READY ('' when it is). */
  reason: string;
}

/** What ModelControl needs from the server (server.ts). */
export interface ControlHost {
  readonly logger: Logger;
  readonly draining: boolean;
  readonly defaultName: string;
  readonly names: readonly string[];
  /** The engine and directory a name is served with now. */
  served(name: string): { engine: Engine; dir: string } | undefined;
  /** Loads and warms a model (not served yet). */
  loadEngine(name: string, dir: string): Promise<Engine>;
  /** Serves `engine` as `name` from now on (a new name goes last); returns the engine it replaced. */
  install(name: string, dir: string, engine: Engine): Engine | undefined;
  /** Stops serving `name`; returns its engine. */
  remove(name: string): Engine | undefined;
  /** Closes an engine (once) after the requests admitted on it are answered. */
  closeEngine(engine: Engine): Promise<void>;
  /** Why loading `dir` as `name` would go over --max-memory (undefined: it fits). */
  overMemory(name: string, dir: string): string | undefined;
}

export class ModelControl {
  readonly enabled: boolean;
  readonly #repository: string;
  readonly #host: ControlHost;
  #chain: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  /** Names not READY: loading, unloading, or why the last load or an unload left them unavailable. */
  readonly #states = new Map<string, { state: IndexEntry['state']; reason: string }>();

  constructor(host: ControlHost, mode: string, repository: string) {
    this.#host = host;
    this.enabled = mode === 'explicit';
    this.#repository = repository;
  }

  /** Every served model, then the repository's other subdirectories and the names a load or unload left unavailable. */
  index(readyOnly: boolean): IndexEntry[] {
    const h = this.#host;
    const entries: IndexEntry[] = h.names.map((name) => ({ name, version: h.served(name)!.engine.version, state: 'READY', reason: '' }));
    if (readyOnly) return entries;
    const listed = new Set(h.names);
    for (const [name, s] of this.#states) {
      if (!listed.has(name)) entries.push({ name, version: '', ...s });
      listed.add(name);
    }
    for (const name of this.#repositoryNames()) {
      if (!listed.has(name)) entries.push({ name, version: '', state: 'UNAVAILABLE', reason: 'not loaded' });
    }
    return entries;
  }

  /** Loads `name` (a reload when served), from `path` inside the repository when given. Resolves with the new version. */
  load(name: string, path: string | undefined): Promise<{ version: string; previousVersion: string | null }> {
    this.#check(name);
    const dir = this.#directory(name, path); // refused before waiting: a bad path costs nothing
    return this.#serialize(() => this.#load(name, dir, path ?? name));
  }

  /** Unloads `name` once the requests admitted on it are answered. */
  unload(name: string): Promise<void> {
    this.#check(name);
    if (name === this.#host.defaultName) {
      throw new ControlError(
        409,
        'conflict',
        `the model "${name}" is the default model (the unprefixed routes serve it) and cannot be unloaded; ` +
          'load it again to change its weights, or start the server with --default-model naming another',
      );
    }
    return this.#serialize(() => this.#unload(name));
  }

  /** `shown`: the directory as the client knows it (the path given, or the name), for the messages. */
  async #load(name: string, dir: string, shown: string): Promise<{ version: string; previousVersion: string | null }> {
    const h = this.#host;
    if (h.draining) throw new ControlError(503, 'unhealthy', 'the server is shutting down');
    const before = h.served(name);
    // Checked before anything loads; during a reload the old version is resident too, and counted.
    const over = h.overMemory(name, dir);
    if (over !== undefined) throw new ControlError(507, 'insufficient_memory', over);
    if (!before) this.#states.set(name, { state: 'LOADING', reason: '' });
    let engine: Engine;
    try {
      engine = await h.loadEngine(name, dir);
    } catch (e) {
      const err = toBertServeError(e);
      // The load error's own message is for users (as at start-up); an unexpected one is not shown.
      // Where the repository lies on the server's disk is not the client's business: the directory is named as the client named it.
      const why =
        err.code === 'ERR_INTERNAL' ? 'the model failed to load (the server log has the details)' : err.message.split(dir).join(shown);
      h.logger.warn('model load failed', { name, model: dir, code: err.code, error: err.message });
      if (!h.served(name)) this.#states.set(name, { state: 'UNAVAILABLE', reason: why });
      throw new ControlError(
        400,
        'load_failed',
        `failed to load "${name}"${before ? ` (the version served before, ${before.engine.version}, still serves)` : ''}: ${why}`,
      );
    }
    if (h.draining) {
      await h.closeEngine(engine);
      throw new ControlError(503, 'unhealthy', 'the server is shutting down');
    }
    const old = h.install(name, dir, engine);
    this.#states.delete(name);
    h.logger.info(old ? 'model reloaded' : 'model loaded at run time', {
      name,
      model: dir,
      version: engine.version,
      previousVersion: old?.version,
    });
    if (old) await this.#retire(old);
    return { version: engine.version, previousVersion: old?.version ?? null };
  }

  async #unload(name: string): Promise<void> {
    const h = this.#host;
    const engine = h.remove(name);
    if (!engine) throw new ControlError(404, 'model_not_found', `the model "${name}" is not served here; served: ${h.names.join(', ')}`);
    this.#states.set(name, { state: 'UNLOADING', reason: '' });
    await this.#retire(engine);
    this.#states.set(name, { state: 'UNAVAILABLE', reason: 'unloaded' });
    h.logger.info('model unloaded', { name, version: engine.version });
  }

  async #retire(engine: Engine): Promise<void> {
    await whenUnheld(engine);
    await this.#host.closeEngine(engine);
    // Once this operation's frames (which still reference the engine) are gone: the native memory
    // its JS objects hold is given back now (full_gc.ts).
    setImmediate(fullGc);
  }

  #check(name: string): void {
    if (!this.enabled) {
      // Triton's answer and words when model control is off (UNAVAILABLE: 503).
      throw new ControlError(
        503,
        'unavailable',
        'explicit model load / unload is not allowed: start the server with --model-control explicit',
      );
    }
    if (!MODEL_NAME.test(name))
      throw new ControlError(400, 'validation', `the model name ${JSON.stringify(name)} must be ${MODEL_NAME_TEXT}`);
  }

  /** Where `name` loads from (see the header); throws a ControlError naming why not. */
  #directory(name: string, path: string | undefined): string {
    if (path !== undefined) return this.#inside(path);
    const served = this.#host.served(name);
    if (served) return served.dir;
    if (this.#repository !== '' && statSync(join(this.#repository, name), { throwIfNoEntry: false })?.isDirectory()) {
      return join(this.#repository, name);
    }
    throw new ControlError(
      404,
      'model_not_found',
      `the model "${name}" is not served` +
        (this.#repository === '' ? ' and no --model-repository is set' : ` and the model repository has no directory "${name}"`) +
        '; give {"parameters": {"path": DIR}} with a directory inside --model-repository',
    );
  }

  /** `path` resolved (symbolic links and ".." included) and checked to lie inside the repository. */
  #inside(path: string): string {
    if (this.#repository === '') {
      throw new ControlError(400, 'validation', 'parameters.path needs --model-repository: a model is loaded from inside it only');
    }
    let root: string;
    try {
      root = realpathSync(this.#repository);
    } catch {
      throw new ControlError(400, 'validation', 'the model repository cannot be read');
    }
    let real: string;
    try {
      real = realpathSync(resolve(root, path));
    } catch {
      throw new ControlError(400, 'validation', `parameters.path ${JSON.stringify(path)}: no such directory in the model repository`);
    }
    const rel = relative(root, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new ControlError(
        400,
        'validation',
        `parameters.path ${JSON.stringify(path)} resolves outside the model repository (through ".." or a symbolic link, or the repository itself); ` +
          'give a model directory inside it',
      );
    }
    if (!statSync(real).isDirectory())
      throw new ControlError(400, 'validation', `parameters.path ${JSON.stringify(path)} is not a directory`);
    return real;
  }

  #repositoryNames(): string[] {
    if (this.#repository === '') return [];
    try {
      return readdirSync(this.#repository)
        .filter((n) => MODEL_NAME.test(n) && statSync(join(this.#repository, n), { throwIfNoEntry: false })?.isDirectory())
        .sort();
    } catch {
      return [];
    }
  }

  #serialize<T>(op: () => Promise<T>): Promise<T> {
    if (this.#waiting >= MAX_WAITING) {
      throw new ControlError(429, 'overloaded', `${MAX_WAITING} model loads and unloads are already waiting; retry when they are done`);
    }
    this.#waiting++;
    const run = this.#chain.then(() => {
      this.#waiting--;
      return op();
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
