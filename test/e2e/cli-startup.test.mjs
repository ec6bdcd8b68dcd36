// The CLI's startup contract, on spawned processes: --help lists every option with its environment
// variable; flags win over environment variables; usage errors exit 2; startup fails loudly (exit 1,
// a clear message) when --transport uws finds no native uWebSockets.js build, the port is taken or
// the model fails to load; --transport auto falls back to node:http with a warning;
// without --model the demo model is served and the log says so; "ready" only after the model loaded.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, runCli, spawnServer, requireBuilt, demoModel, testModel } from '../helpers/server.mjs';
import { curlPost, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'));
const { OPTIONS } = await import(join(root, 'dist', 'config.js'));

t.test('--help lists every option, its environment variable and its default', async (t) => {
  const r = await runCli(['--help']);
  t.equal(r.code, 0);
  for (const o of OPTIONS) {
    t.ok(r.stdout.includes(`--${o.flag}`) || r.stdout.includes(`--[no-]${o.flag}`), `--${o.flag}`);
    for (const e of o.env) t.ok(r.stdout.includes(e), e);
  }
  t.match(r.stdout, /--port N\n\s+env BERT_SERVE_PORT, PORT; default 8000/);
  t.match(r.stdout, /--max-body-bytes BYTES\n\s+env BERT_SERVE_MAX_BODY_BYTES; default 1048576/);
});

t.test('docs/configuration.md holds the table --help=markdown renders', async (t) => {
  const r = await runCli(['--help=markdown']);
  t.equal(r.code, 0);
  const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
  t.ok(doc.includes(r.stdout.trim()), 'docs/configuration.md is up to date (regenerate with `node dist/cli.js --help=markdown`)');
});

t.test('flags win over environment variables; BERT_SERVE_PORT over PORT; booleans', async (t) => {
  const env = {
    PORT: '1111',
    BERT_SERVE_PORT: '2222',
    BERT_SERVE_HOST: '127.0.0.2',
    BERT_SERVE_MAX_QUEUE: '7',
    BERT_SERVE_TRUNCATE: 'yes',
    BERT_SERVE_MODEL: '/m',
  };
  const a = JSON.parse((await runCli(['--print-config'], { env })).stdout);
  t.match(a, { port: 2222, host: '127.0.0.2', maxQueue: 7, truncate: true, model: '/m' });
  t.equal(a.sources.port, 'env:BERT_SERVE_PORT');
  const b = JSON.parse(
    (await runCli(['--print-config', '--port', '3333', '--max-queue=9', '--no-truncate', '--model', '/x'], { env })).stdout,
  );
  t.match(b, { port: 3333, maxQueue: 9, truncate: false, model: '/x' });
  t.equal(b.sources.port, 'flag');
  const c = JSON.parse((await runCli(['--print-config'], { env: { PORT: '4444', BERT_SERVE_PORT: '' } })).stdout);
  t.equal(c.port, 4444, 'PORT alone');
  const d = JSON.parse((await runCli(['--print-config'], { env: { PORT: '', BERT_SERVE_PORT: '', BERT_SERVE_MODEL: '' } })).stdout);
  t.match(d, {
    port: 8000,
    host: '0.0.0.0',
    device: 'cpu',
    dtype: 'float32',
    maxBodyBytes: 1048576,
    requestTimeoutMs: 30000,
    drainTimeoutMs: 30000,
    logLevel: 'info',
  });
  t.equal(d.model, demoModel, 'demo model by default');
});

t.test('usage errors exit 2 with a message naming the option', async (t) => {
  for (const [args, env, re] of [
    [['--bogus'], {}, /unknown option --bogus/],
    [['--port', 'eighty'], {}, /--port: expected an integer/],
    [['--port', '70000'], {}, /--port: expected a value between 0 and 65535/],
    [['--device', 'tpu'], {}, /--device: expected "cpu", "cuda" or "cuda:N"/],
    [['--dtype', 'int8'], {}, /--dtype: expected one of float32, float16, bfloat16/],
    [['--max-queue'], {}, /--max-queue needs a value/],
    [[], { BERT_SERVE_MAX_BODY_BYTES: 'lots' }, /BERT_SERVE_MAX_BODY_BYTES \(for --max-body-bytes\): expected an integer/],
    [[], { BERT_SERVE_TRUNCATE: 'maybe' }, /BERT_SERVE_TRUNCATE \(for --truncate\): expected true or false/],
  ]) {
    const r = await runCli(args, { env });
    t.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}`);
    t.match(r.stderr, re);
  }
});

// Whether a uWebSockets.js build loads here: the pinned one has binaries for Node <= 20 (ABI 115);
// the alternative needs glibc 2.38. scripts/test.sh runs this file on Node 20, 22 and 24, so both
// branches below run in CI.
const { loadUwsBuild, UWS_BUILDS } = await import(join(root, 'dist', 'server', 'transport', 'uws.js'));
const uwsLoads = UWS_BUILDS.some((b) => loadUwsBuild(b).ok);

t.test(
  `--transport uws ${uwsLoads ? 'serves through uWebSockets.js' : 'refuses to start, naming the fix'} on Node ${process.version}`,
  async (t) => {
    const args = ['--model', testModel('tiny'), '--no-warmup', '--transport', 'uws'];
    if (uwsLoads) {
      const s = await spawnServer(args, { t });
      t.equal(s.transport, 'uws');
      const logged = s.logs.find((l) => /^HTTP transport: uWebSockets\.js/.test(l.msg));
      t.ok(logged, 'the log names the build');
      t.equal(logged.level, 'info');
      t.equal((await request(s.port, { path: '/info' })).json.http_transport, 'uws', '/info says so');
      t.equal((await s.stop()).code, 0);
      return;
    }
    const r = await runCli([...args, '--port', '0', '--host', '127.0.0.1', '--log-format', 'json']);
    t.equal(r.code, 1);
    const err = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.level === 'error');
    t.equal(err.code, 'ERR_NO_UWS');
    t.match(err.msg, /no uWebSockets\.js build loads natively on Node v\d+/);
    t.match(err.msg, /ABI \d+/, 'names the ABI');
    t.match(err.msg, /--transport auto \(or node\)/, 'names the fix');
  },
);

t.test(
  `--transport auto serves through ${uwsLoads ? 'uWebSockets.js' : 'node:http, logged at warn as the slower path'}; --transport node through node:http`,
  async (t) => {
    const auto = await spawnServer(['--model', testModel('tiny'), '--no-warmup', '--transport', 'auto'], { t });
    const line = auto.logs.find((l) => /^HTTP transport: /.test(l.msg));
    t.equal(auto.transport, uwsLoads ? 'uws' : 'node');
    if (uwsLoads) {
      t.equal(line.level, 'info');
    } else {
      t.equal(line.level, 'warn', 'the fallback is a warning');
      t.match(line.msg, /node:http, the slower path/);
      t.match(line.uws, /no binary for .* Node ABI|GLIBC|not installed/, 'says why each build did not load');
      t.match(line.fix, /glibc >= 2\.38/, 'names the fix');
    }
    t.equal((await postText(auto.port, 'test [MASK]')).status, 200);
    t.equal((await auto.stop()).code, 0);

    const node = await spawnServer(['--model', testModel('tiny'), '--no-warmup', '--transport', 'node'], { t });
    t.equal(node.transport, 'node');
    const info = (await request(node.port, { path: '/info' })).json;
    t.equal(info.http_transport, 'node');
    t.match(info.http_implementation, /^node:http \(Node v\d+/);
    t.equal((await postText(node.port, 'test [MASK]')).status, 200);
    t.equal((await node.stop()).code, 0);
  },
);

t.test('startup fails loudly when the model does not load', async (t) => {
  const r = await runCli([
    '--model',
    join(root, 'models', 'test', 'no-such-model'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-format',
    'json',
  ]);
  t.equal(r.code, 1);
  const lines = r.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const err = lines.find((l) => l.level === 'error');
  t.match(err.msg, /^the model failed to load: \[ERR_MODEL_NOT_FOUND\] /);
  t.notOk(
    lines.some((l) => l.msg === 'ready'),
    'never ready',
  );
});

t.test('startup fails loudly when the port is taken', async (t) => {
  const s = await spawnServer(['--model', testModel('tiny'), '--no-warmup'], { t });
  const r = await runCli(['--model', testModel('tiny'), '--port', String(s.port), '--host', '127.0.0.1', '--log-format', 'text']);
  t.equal(r.code, 1);
  t.match(r.stderr, /startup failed: could not listen on 127\.0\.0\.1:\d+/);
  t.equal((await s.stop()).code, 0);
});

t.test('without --model: the demo model, said in the log; startup logs; ready after load; env vars', async (t) => {
  requireBuilt(demoModel);
  const s = await spawnServer([], { t, env: { BERT_SERVE_MODEL: '', BERT_SERVE_LOG_LEVEL: 'info' } });
  const msgs = s.logs.map((l) => l.msg);
  t.ok(
    msgs.some((m) => /no --model given: serving the demo model at .*models\/demo/.test(m)),
    'says it serves the demo model',
  );
  const loaded = s.logs.find((l) => l.msg === 'model loaded');
  t.match(loaded, { task: 'fill-mask', device: 'cpu', dtype: 'float32' });
  for (const k of ['model', 'intraOpThreads', 'workers', 'blas', 'torch']) t.ok(k in loaded, `startup log names ${k}`);
  t.ok(
    msgs.indexOf('listening') < msgs.indexOf('model loaded') && msgs.indexOf('model loaded') < msgs.indexOf('ready'),
    'listening, loaded, then ready',
  );
  const r = await curlPost(`${s.url}/`, 'test [MASK]');
  t.equal(r.status, 200);
  t.equal(r.json.length, 5);
  t.equal((await request(s.port, { path: '/info' })).json.model_id, 'demo');
  t.equal((await s.stop('SIGINT')).code, 0, 'SIGINT: clean exit');

  // The same through environment variables only.
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [join(root, 'dist', 'cli.js')], {
    env: {
      ...process.env,
      BERT_SERVE_MODEL: testModel('tiny'),
      BERT_SERVE_PORT: '0',
      PORT: '1',
      BERT_SERVE_HOST: '127.0.0.1',
      BERT_SERVE_LOG_FORMAT: 'json',
      BERT_SERVE_WARMUP: 'false',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let err = '';
  const ready = new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      if (/"msg":"ready"/.test(err)) resolve();
    });
    proc.on('exit', () => reject(new Error(err)));
  });
  await ready;
  const port = Number(/"msg":"listening".*?"port":(\d+)/.exec(err)[1]);
  t.ok(port > 1, 'BERT_SERVE_PORT=0 (over PORT) gave a free port');
  t.equal((await request(port, { path: '/info' })).json.model_id, 'tiny', 'BERT_SERVE_MODEL');
  proc.kill('SIGTERM');
  const code = await new Promise((resolve) => proc.on('exit', (c) => resolve(c)));
  t.equal(code, 0);
});
