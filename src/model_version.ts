// A model's version: a content hash of its directory, computed once at load, so that a client can
// tell which weights answered (the x-model-version header, /info, /v1/models). What is hashed:
// every regular file under the model directory, subdirectories included (sentence-transformers'
// 1_Pooling/, 2_Dense/), symbolic links followed, names starting with "." skipped; in the order of
// their relative paths, each as its path, its size and its bytes, into one SHA-256. The version is
// the first 16 hex digits (64 bits). A file the engine does not read (a README, the same weights as
// safetensors) counts too: the directory is the unit a user copies and versions.
// The files are read in chunks from a stream, so the hash never holds the JS thread for long.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MODEL_VERSION_HEX_DIGITS = 16;

async function files(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    if (name.startsWith('.')) continue;
    const path = rel === '' ? name : `${rel}/${name}`;
    const s = await stat(join(root, path));
    if (s.isDirectory()) out.push(...(await files(root, path)));
    else if (s.isFile()) out.push(path);
  }
  return out;
}

/** The content hash of the model directory `dir` (see the header). */
export async function modelVersion(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const path of (await files(dir)).sort()) {
    const full = join(dir, path);
    hash.update(`${path}\0${(await stat(full)).size}\0`);
    for await (const chunk of createReadStream(full, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, MODEL_VERSION_HEX_DIGITS);
}
