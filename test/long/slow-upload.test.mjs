// A body that keeps flowing at or above the minimum upload rate is read to its end and answered,
// however long it takes, on both transports: uWebSockets.js used to cut any upload that took
// longer than about 10.5 s in all unless it brought 16 KiB/s (a 1 MiB body needed ~100 KB/s).
// Here ~50 KB at 3.5 KB/s (14 s), and a body with a 3 s pause in the middle (one 5 s window still
// brings more than 5 KiB), on both transports at once. Against a fake engine (no libtorch): this is about the HTTP layer.
import t from 'tap';
import { fake, startFakeServer } from '../helpers/fake-server.mjs';
import { RawClient, head } from '../helpers/http.mjs';
import { sleep } from '../helpers/server.mjs';

t.setTimeout(180_000);
const { loadUwsBuild, UWS_BUILDS } = await import('../../dist/server/transport/uws.js');
const transports = ['node', ...(UWS_BUILDS.some((b) => loadUwsBuild(b).ok) ? ['uws'] : [])];

/** Sends `body` in pieces of `piece` bytes every `everyMs` (with an optional pause after `pauseAt` bytes). */
async function trickle(c, body, piece, everyMs, pause) {
  for (let i = 0; i < body.length; i += piece) {
    await c.send(body.subarray(i, i + piece));
    if (pause && i < pause.at && i + piece >= pause.at) await sleep(pause.ms);
    await sleep(everyMs);
  }
}

/** The two uploads on one server: a steady one, then one with a pause. */
async function uploads(t, s, body) {
  const c = await RawClient.connect(s.port);
  const t0 = Date.now();
  await c.send(head('POST', '/', { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) }));
  await trickle(c, body, 700, 200);
  const r = await c.response(20_000);
  const seconds = (Date.now() - t0) / 1000;
  t.equal(r.status, 200, `answered after ${seconds.toFixed(1)} s`);
  t.same(r.json, { bytes: body.length }, 'the whole body was read');
  t.ok(seconds > 12, "the upload took longer than uWS's own timer allowed");
  t.notOk(c.isClosed, 'the connection stays open');

  await c.send(head('POST', '/', { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) }));
  await trickle(c, body, 7000, 300, { at: 20_000, ms: 3000 });
  const p = await c.response(20_000);
  t.equal(p.status, 200, 'a pause shorter than a window is fine');
  c.destroy();
}

// The transports' uploads run at the same time (each a server of its own; they only wait), so the
// file takes one upload's time, not one per transport.
const title = `a 14 s upload at 3.5 KB/s and one with a 3 s pause are answered on --transport ${transports.join(' and ')}`;
t.test(title, { jobs: transports.length }, async (t) => {
  const servers = [];
  for (const transport of transports) servers.push(await startFakeServer(t, { transport }));
  fake.answer = (text) => Buffer.from(JSON.stringify({ bytes: Buffer.byteLength(text) }));
  const body = Buffer.from('a [MASK] ' + 'x'.repeat(49_000));
  await Promise.all(servers.map((s, i) => t.test(`--transport ${transports[i]}`, (t) => uploads(t, s, body))));
});
