// Loads the native addon once. The cmake-js build (build/Release) is preferred; a node-gyp build
// (build/Release too, same file name) works the same. BERT_SERVE_ADDON overrides the path (tests, GPU
// builds kept side by side).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './types.js';

const require = createRequire(import.meta.url);
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeBinding | undefined;

export function addonPath(): string {
  return process.env.BERT_SERVE_ADDON ?? join(packageRoot, 'build', 'Release', 'bert_serve.node');
}

export function loadBinding(): NativeBinding {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    const err = new Error(
      `bert-serve native addon not found at ${path}; build it with \`npm run build:native\` in a clone ` +
        'of the repository, or `npm rebuild bert-serve --foreground-scripts` in a project that installed the package',
    );
    (err as Error & { code: string }).code = 'ERR_ADDON_NOT_BUILT';
    throw err;
  }
  // libgomp reads this when libtorch is loaded, i.e. now. OpenMP threads that spin while waiting
  // fight OpenBLAS's and the engine's own threads for the 2-4 cores of a typical host: PASSIVE was
  // 2-7x faster here (docs/performance.md). The user's own setting wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  cached = require(path) as NativeBinding;
  return cached;
}
