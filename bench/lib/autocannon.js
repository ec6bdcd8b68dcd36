// autocannon as the closed-loop benches run it: keep-alive connections each sending its next
// request as soon as it has its answer, every request a POST of one text/plain body file to
// 127.0.0.1, 10 s timeout, JSON summary on stdout.
import { join } from 'node:path';
import { ROOT } from './cli_server.js';

export const AUTOCANNON = join(ROOT, 'node_modules', '.bin', 'autocannon');

/** autocannon's arguments: `connections`, and either `count` requests in all or `seconds` long. */
export function autocannonArgs(port, bodyFile, { connections, count, seconds }) {
  return [
    '-j',
    '-c',
    String(connections),
    ...(count !== undefined ? ['-a', String(count)] : ['-d', String(seconds)]),
    '-t',
    '10',
    '-m',
    'POST',
    '-H',
    'content-type=text/plain',
    '-i',
    bodyFile,
    `http://127.0.0.1:${port}/`,
  ];
}
