// Generated HTTP requests for the fuzzer (http-fuzz.test.mjs): random methods, paths, HTTP
// versions, header sets (none to 120 lines, repeated Host and Authorization, odd media types and
// encodings), framings (Content-Length right, short, long, invalid; chunked right and malformed;
// both; other codings) and bodies (random JSON a few levels deep, sometimes nested past the 32-level
// bound, with the routes' fields and odd
// values; raw text; random bytes). Deterministic from a seed. A case is the bytes to send and a
// note saying what was chosen.

/** A small seeded PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)], chance: (p) => next() < p };
}

const METHODS = ['GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'FOO', 'G(T', 'CONNECT'];
const PATHS = [
  '/',
  '/',
  '/',
  '/tokenize',
  '/embed',
  '/embed_all',
  '/v1/embeddings',
  '/predict',
  '/rerank',
  '/health',
  '/ready',
  '/info',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/docs/init.js',
  '/nope',
  '/?a=1',
  '/%2e%2e/etc/passwd',
  '//',
  '/é',
  '*',
  'http://x/',
];
const TEXTS = [
  'a [MASK]',
  'Paris is the [MASK] of France.',
  '[MASK]',
  '',
  ' ',
  'no mask',
  '[MASK] '.repeat(70),
  'x'.repeat(3000) + ' [MASK]',
  '\u0000\u0001 [MASK]',
  '😀 [MASK] 漢字',
  '\ud800 [MASK]',
  'word '.repeat(600) + '[MASK]',
  '[mask]',
  '<mask>',
  '[MASK',
];

function randomString(r) {
  if (r.chance(0.6)) return r.pick(TEXTS);
  const n = r.int(40);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.8) ? 32 + r.int(95) : r.int(0x3000));
  return s;
}

/** A random JSON value; containers only down to depth 4 (deep nesting is added by randomJson). */
function randomValue(r, depth) {
  const k = r.int(depth >= 4 ? 5 : 8);
  switch (k) {
    case 0:
      return randomString(r);
    case 1:
      return r.pick([0, -1, 1, 5, 1000, 1001, 2 ** 31, 2 ** 53, 1.5, -0, 1e308]);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.pick(['Right', 'left', 'middle', 'base64', 'float', 'simple', 'none', 'softmax']);
    case 4:
      return Array.from({ length: r.int(6) }, () => r.int(40000));
    case 5:
    case 6:
      return Array.from({ length: r.int(depth === 0 && r.chance(0.1) ? 60 : 4) }, () => randomValue(r, depth + 1));
    default: {
      const o = {};
      for (let i = r.int(5); i > 0; i--)
        o[r.pick(['inputs', 'parameters', 'top_k', 'targets', 'truncate', 'x', 'query', 'texts', 'input'])] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** A JSON body with the fields the routes read, some of them wrong. */
function randomJson(r) {
  const body = {};
  if (r.chance(0.9))
    body.inputs = r.chance(0.5)
      ? randomString(r)
      : Array.from({ length: r.int(r.chance(0.1) ? 40 : 4) + 1 }, () => (r.chance(0.9) ? randomString(r) : randomValue(r, 1)));
  if (r.chance(0.3)) body.input = randomValue(r, 1);
  if (r.chance(0.2)) {
    body.query = randomString(r);
    body.texts = [randomString(r), randomString(r)];
  }
  if (r.chance(0.5)) {
    body.parameters = {};
    if (r.chance(0.5)) body.parameters.top_k = r.pick([1, 5, 1000, 0, 1001, '5', null, 2.5]);
    if (r.chance(0.3))
      body.parameters.targets = r.chance(0.8) ? Array.from({ length: r.pick([1, 3, 100, 2500]) }, (_, i) => `w${i}`) : randomValue(r, 2);
    if (r.chance(0.2)) body.parameters.truncate = randomValue(r, 2);
  }
  if (r.chance(0.2)) body.truncate = r.pick([true, false, 'yes']);
  if (r.chance(0.2)) body.extra = randomValue(r, 1);
  let text = JSON.stringify(body);
  // Nesting: sometimes deep, up to past the 32-level bound.
  if (r.chance(0.15)) {
    const d = r.pick([31, 33, 200, 5000]);
    text = text.replace(/^\{/, `{"deep":${'['.repeat(d)}1${']'.repeat(d)},`);
  }
  if (r.chance(0.05)) text = text.slice(0, r.int(text.length)); // truncated JSON
  return Buffer.from(text);
}

function randomBody(r) {
  const k = r.int(10);
  if (k < 6)
    return {
      body: randomJson(r),
      type: r.pick([
        'application/json',
        'application/json',
        'application/json; charset=utf-8',
        'application/JSON',
        'application/json; charset=latin1',
      ]),
    };
  if (k < 8) return { body: Buffer.from(randomString(r)), type: r.pick(['text/plain', '', 'application/x-www-form-urlencoded']) };
  const bytes = Buffer.alloc(r.int(300));
  for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
  return { body: bytes, type: r.pick(['application/octet-stream', 'application/json', '']) };
}

function chunked(body, r, malformed) {
  const parts = [];
  for (let i = 0; i < body.length;) {
    const n = Math.min(body.length - i, 1 + r.int(200));
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(i, i + n), Buffer.from('\r\n'));
    i += n;
  }
  if (malformed)
    parts.splice(r.int(parts.length + 1), 0, Buffer.from(r.pick(['ZZ\r\n', '-1\r\n', 'fffffffffffffffffff\r\n', '\r\n\r\n', '5\r\nab'])));
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** One generated case: { bytes, note }. */
export function generate(r) {
  const method = r.pick(METHODS);
  let path = r.pick(PATHS);
  if (r.chance(0.03)) path = '/' + 'a'.repeat(3000 + r.int(20000));
  const version = r.chance(0.85) ? 'HTTP/1.1' : r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', '', 'HTTP/1.1 extra']);
  const lines = [`${method} ${path}${version ? ' ' + version : ''}`];
  const notes = [method, path.length > 40 ? `/${path.length} chars` : path, version || 'no version'];
  if (r.chance(0.93)) lines.push('Host: 127.0.0.1');
  else notes.push('no Host');
  if (r.chance(0.03)) {
    lines.push('Host: other');
    notes.push('two Host');
  }
  const hasBody = method === 'POST' || method === 'PUT' || r.chance(0.1);
  const { body, type } = hasBody ? randomBody(r) : { body: Buffer.alloc(0), type: '' };
  if (type) lines.push(`Content-Type: ${type}`);
  if (r.chance(0.05)) {
    lines.push(`Content-Encoding: ${r.pick(['gzip', 'identity', 'br'])}`);
    notes.push('encoding');
  }
  if (r.chance(0.1)) {
    for (let i = r.int(3) + 1; i > 0; i--) lines.push(`Authorization: ${r.pick(['Bearer k', 'Bearer wrong', 'Basic eA==', ''])}`);
    notes.push('authorization');
  }
  if (r.chance(0.05)) lines.push(`Origin: http://x${r.int(3)}`, 'Access-Control-Request-Method: POST');
  if (r.chance(0.05)) lines.push('Expect: 100-continue');
  if (r.chance(0.05)) lines.push('Connection: close');
  if (r.chance(0.1)) {
    const n = r.pick([20, 47, 49, 60, 120]);
    for (let i = 0; i < n; i++) lines.push(`X-Junk-${i}: ${'v'.repeat(r.int(20))}`);
    notes.push(`${n} extra headers`);
  }
  if (r.chance(0.02)) {
    lines.push(`X-Big: ${'b'.repeat(17000)}`);
    notes.push('17 KB header');
  }
  if (r.chance(0.02)) {
    lines.push('Bad Header: x');
    notes.push('bad header name');
  }

  let framedBody = body;
  const framing = hasBody ? r.int(20) : 19;
  if (framing < 12) {
    lines.push(`Content-Length: ${body.length}`);
  } else if (framing < 14) {
    lines.push('Transfer-Encoding: chunked');
    framedBody = chunked(body, r, false);
    notes.push('chunked');
  } else if (framing === 14) {
    lines.push('Transfer-Encoding: chunked');
    framedBody = chunked(body, r, true);
    notes.push('malformed chunked');
  } else if (framing === 15) {
    lines.push(`Content-Length: ${body.length + 1 + r.int(100)}`);
    notes.push('Content-Length too large');
  } else if (framing === 16) {
    lines.push(`Content-Length: ${Math.max(0, body.length - 1 - r.int(5))}`);
    notes.push('Content-Length too small');
  } else if (framing === 17) {
    lines.push(
      r.pick([
        'Content-Length: -1',
        'Content-Length: abc',
        `Content-Length: ${body.length}, ${body.length + 1}`,
        'Content-Length: 99999999999999999999',
      ]),
    );
    notes.push('invalid Content-Length');
  } else if (framing === 18) {
    lines.push(
      r.pick([
        'Transfer-Encoding: gzip, chunked',
        'Transfer-Encoding: identity',
        'Transfer-Encoding: chunked\r\nContent-Length: 5',
        'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked',
      ]),
    );
    framedBody = chunked(body, r, false);
    notes.push('odd framing');
  } else if (body.length > 0) {
    notes.push('body without framing');
  }
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return { bytes: Buffer.concat([head, framedBody]), note: notes.join(' | ') };
}
