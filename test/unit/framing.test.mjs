// Request framing from every header line: ambiguous framing is an error, never a guess.
import t from 'tap';
import { parseFraming } from '../../dist/server/framing.js';

const f = (...lines) => parseFraming(lines);

t.test('unambiguous framing', async (t) => {
  t.same(f(), { contentLength: undefined, chunked: false, error: undefined });
  t.same(f(['content-length', '12']), { contentLength: 12, chunked: false, error: undefined });
  t.same(
    f(['content-length', '5'], ['content-length', '5']),
    { contentLength: 5, chunked: false, error: undefined },
    'identical repeats are one',
  );
  t.same(f(['content-length', '5, 5']), { contentLength: 5, chunked: false, error: undefined }, 'an identical list is one');
  t.same(f(['transfer-encoding', 'chunked']), { contentLength: undefined, chunked: true, error: undefined });
  t.same(f(['transfer-encoding', ' Chunked ']), { contentLength: undefined, chunked: true, error: undefined }, 'case and spaces');
});

t.test('ambiguous framing is refused', async (t) => {
  t.match(f(['content-length', '3'], ['content-length', '5']).error, /two different Content-Length/);
  t.match(f(['content-length', '3, 4']).error, /two different Content-Length/);
  for (const bad of ['', '-1', '+3', '0x10', '1e3', '3 3', '99999999999999999']) {
    t.match(f(['content-length', bad]).error, /invalid Content-Length/, JSON.stringify(bad));
  }
  t.match(f(['transfer-encoding', 'gzip, chunked']).error, /not supported/);
  t.match(f(['transfer-encoding', 'identity']).error, /not supported/);
  t.match(
    f(['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']).error,
    /not supported/,
    'two lines are a list of two codings',
  );
  t.match(f(['transfer-encoding', 'chunked'], ['content-length', '3']).error, /both Content-Length and Transfer-Encoding/);
});
