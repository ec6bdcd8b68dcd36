// Which models a server serves, and under which names: every --model ([NAME=]DIR, in order), then
// every subdirectory of --model-repository (by name), else the one --model value (the demo model by
// default). A name is one URL path segment (/models/{name}/...), so it is checked here, before
// anything loads, as are duplicates and --default-model. Refusals throw ServerStartError naming the
// entry and the fix (the CLI prints them and exits 1).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ServerStartError } from './transport/transport.js';

export interface ModelSpec {
  readonly name: string;
  readonly dir: string;
}

export interface ModelPlan {
  /** In the order given; loaded in this order. */
  readonly specs: readonly ModelSpec[];
  /** The model the unprefixed routes serve. */
  readonly defaultName: string;
}

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MODEL_NAME_TEXT = 'up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';

function refuse(message: string): never {
  throw new ServerStartError('ERR_MODELS', message);
}

/** One --model value: NAME=DIR, or a DIR (also when the whole value is an existing path that holds "="). */
export function parseModelEntry(entry: string): ModelSpec {
  const eq = entry.indexOf('=');
  if (eq > 0 && !existsSync(entry)) {
    const name = entry.slice(0, eq);
    if (!MODEL_NAME.test(name)) refuse(`--model ${JSON.stringify(entry)}: the name ${JSON.stringify(name)} must be ${MODEL_NAME_TEXT}`);
    return { name, dir: entry.slice(eq + 1) };
  }
  const name = basename(resolve(entry));
  if (!MODEL_NAME.test(name)) {
    refuse(`--model ${JSON.stringify(entry)}: the directory's name cannot name the model (${MODEL_NAME_TEXT}); give --model NAME=${entry}`);
  }
  return { name, dir: entry };
}

/** The model directories of a repository: its subdirectories (symbolic links followed), hidden ones skipped, by name. */
export function repositoryEntries(repository: string): ModelSpec[] {
  let names: string[];
  try {
    names = readdirSync(repository);
  } catch (e) {
    refuse(`--model-repository ${repository}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const specs = names
    .filter((n) => !n.startsWith('.') && statSync(join(repository, n), { throwIfNoEntry: false })?.isDirectory())
    .sort()
    .map((name) => {
      if (!MODEL_NAME.test(name))
        refuse(`--model-repository ${repository}: the subdirectory ${JSON.stringify(name)} cannot name a model (${MODEL_NAME_TEXT})`);
      return { name, dir: join(repository, name) };
    });
  if (specs.length === 0) refuse(`--model-repository ${repository}: holds no model directory (each subdirectory is one model)`);
  return specs;
}

/**
 * The served models: `entries` (--model values), then the repository's; when both are empty,
 * `fallback` (the --model option's value). `defaultName` '' is the first.
 */
export function planModels(entries: readonly string[], repository: string, fallback: string, defaultName: string): ModelPlan {
  const specs = [...entries.map(parseModelEntry), ...(repository === '' ? [] : repositoryEntries(repository))];
  if (specs.length === 0) specs.push(parseModelEntry(fallback));
  const seen = new Map<string, string>();
  for (const s of specs) {
    const other = seen.get(s.name);
    if (other !== undefined)
      refuse(`two models are named ${JSON.stringify(s.name)} (${other} and ${s.dir}); name them with --model NAME=DIR`);
    seen.set(s.name, s.dir);
  }
  if (defaultName !== '' && !seen.has(defaultName)) {
    refuse(`--default-model ${JSON.stringify(defaultName)} is not a served model; served: ${[...seen.keys()].join(', ')}`);
  }
  return { specs, defaultName: defaultName || specs[0].name };
}
