// How the bench starts a server: as users do, through bin/bert-serve (which preloads jemalloc and
// execs dist/cli.js; BERT_SERVE_MALLOC in the environment picks another malloc, docs/performance.md,
// "The allocator"), on the Node running the bench (BERT_SERVE_NODE), so the server rows measure what ships.
import { join } from 'node:path';

/** [command, env] for spawn(command, cliArgs, { env: { ...process.env, ...env } }). */
export function serverCommand(root) {
  return [join(root, 'bin', 'bert-serve'), { BERT_SERVE_NODE: process.execPath }];
}
