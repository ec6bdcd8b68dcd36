// The route declarations and the per-request option declarations, and what derives from them
// (no engine, no server): the route table, the open paths, the validators, POST / for every task;
// every option's HTTP field accepts exactly what the library accepts, on values generated from a
// seeded list of kinds (not hand-picked per option); resolve() fills every default and toWire()
// writes every native option, so the native heads never see a missing key.
import t from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ROUTES, routeTable, openPaths, routeFor, pick } from '../../dist/server/routes/index.js';
import { validators } from '../../dist/server/api/validate.js';
import { TASKS } from '../../dist/tasks/task.js';
import { FILL_MASK, fillMaskParams } from '../../dist/tasks/fill_mask.js';
import { EMBED, embedParams } from '../../dist/tasks/embed.js';
import { CLASSIFY, RERANK, classifyParams } from '../../dist/tasks/classify.js';
import { TOKEN_CLASSIFY, tokenClassifyParams } from '../../dist/tasks/token_classify.js';
import { TOKENIZE } from '../../dist/tasks/tokenize.js';
import { QUESTION_ANSWERING, questionAnsweringParams } from '../../dist/tasks/question_answering.js';
import { TRUNCATION } from '../../dist/tasks/common.js';
import { resolve, toWire, httpFields } from '../../dist/tasks/option.js';

t.test('POST / has a declaration for every task, and picks the served one', async (t) => {
  const table = routeTable(ROUTES);
  const root = table.get('/').methods.get('POST');
  t.equal(root.length, Object.keys(TASKS).length, 'one POST / declaration per task');
  for (const task of Object.keys(TASKS)) {
    t.same(pick(root, task).tasks, [task], `POST / for ${task}`);
    t.equal(routeFor('POST', '/', task), pick(root, task));
  }
  t.equal(routeFor('POST', '/embed', 'fill-mask'), undefined, '/embed does not serve fill-mask');
  t.ok(routeFor('POST', '/tokenize', 'token-classification'), '/tokenize serves every task');
});

t.test('the table: every declared path, GET answered to HEAD, Allow from the methods; prefixed for a per-model table', async (t) => {
  const table = routeTable(ROUTES);
  t.same(new Set(table.keys()), new Set(ROUTES.map((r) => r.path)));
  t.equal(table.get('/health').allow, 'GET, HEAD');
  t.equal(table.get('/embed').allow, 'POST');
  const perModel = routeTable(
    ROUTES.filter((r) => r.perModel),
    '/models/m',
  );
  t.ok(perModel.has('/models/m/embed') && perModel.has('/models/m/info'), 'inference and model facts per model');
  t.notOk(perModel.has('/models/m/health') || perModel.has('/models/m/metrics'), 'liveness and metrics are per process');
  t.same([...openPaths(ROUTES)].sort(), [
    '/docs',
    '/docs/init.js',
    '/docs/swagger-ui-bundle.js',
    '/docs/swagger-ui.css',
    '/health',
    '/openapi.json',
    '/ready',
    '/v2/health/live',
    '/v2/health/ready',
    '/v2/models/{name}/ready',
  ]);
});

t.test('every inference route has a compiled validator, and declares its answer and an example that validates', async (t) => {
  const v = validators(4);
  const facts = { task: 'fill-mask', labels: ['a'], maskToken: '[MASK]', modelId: 'm' };
  for (const r of ROUTES.filter((r) => r.kind === 'inference')) {
    t.ok(v.get(r), `${r.path} ${r.tasks}: validator`);
    t.ok(r.answer && r.answerKind, `${r.path}: answer schema and kind`);
    t.equal(v.get(r)(r.example(facts)), undefined, `${r.path} ${r.tasks}: its documented example is valid`);
  }
});

// Values of many kinds, in a fixed order; each option must accept the same ones through HTTP
// (ajv on its field, where null means absent) as through the library (resolve).
const VALUES = [
  true,
  false,
  0,
  1,
  2,
  5,
  999,
  1000,
  1001,
  -1,
  1.5,
  2 ** 40,
  '',
  'x',
  'right',
  'Right',
  'LEFT',
  'left',
  'softmax',
  'none',
  'simple',
  'max',
  'base64',
  'float',
  [],
  ['a'],
  ['', 'b'],
  ['a', 'b'],
  [1],
  {},
  { a: 1 },
];
const SETS = { FILL_MASK, EMBED, CLASSIFY, RERANK, TOKEN_CLASSIFY, QUESTION_ANSWERING, TOKENIZE, TRUNCATION };

t.test('every option: its HTTP field accepts exactly what the library accepts', async (t) => {
  const ajv = new Ajv2020({ strict: true });
  ajv.addVocabulary(['x-expected', 'x-message']);
  let compared = 0;
  for (const [setName, set] of Object.entries(SETS)) {
    for (const [key, field] of Object.entries(httpFields(set, Object.keys(set)))) {
      const check = ajv.compile(field);
      const opt = Object.values(set).find((o) => o.wire === key);
      const name = Object.keys(set).find((k) => set[k] === opt);
      t.ok(check(null), `${setName}.${name}: null is allowed over HTTP`);
      for (const v of VALUES) {
        let library = true;
        try {
          resolve(set, { [name]: v });
        } catch (e) {
          library = false;
          t.equal(e.code, 'ERR_INVALID_ARGUMENT');
          t.match(e.message, name);
        }
        t.equal(check(v), library, `${setName}.${name} = ${JSON.stringify(v)}: HTTP ${check(v)}, library ${library}`);
        compared++;
      }
    }
  }
  t.ok(compared > 300, `${compared} (option, value) pairs compared`);
});

t.test('resolve fills every default; the canonical JSON has every native option and nothing else', async (t) => {
  t.same(JSON.parse(fillMaskParams({}, 2, { maxPredictions: 2000, maxMasks: 64 })), {
    top_k: 5,
    targets: null,
    max_masks: 64,
    max_predictions: 1000,
  });
  t.same(
    JSON.parse(fillMaskParams({ targets: 'paris' }, 1, { maxPredictions: 10, maxMasks: 4 })).targets,
    ['paris'],
    'one target is a list of one',
  );
  t.same(
    JSON.parse(embedParams({ promptName: 'query' })),
    { normalize: true, dimensions: null, all_tokens: false, encoding_format: 'float' },
    'the prompt is not sent (prepended in JavaScript)',
  );
  t.same(JSON.parse(classifyParams({ topK: null })), { top_k: null, function_to_apply: null, score_only: false });
  t.same(JSON.parse(tokenClassifyParams({})), { aggregation_strategy: 'none', ignore_labels: ['O'] });
  t.same(JSON.parse(questionAnsweringParams({})), {
    top_k: 1,
    max_answer_len: 15,
    handle_impossible_answer: false,
    align_to_words: true,
  });
  t.same(
    resolve(TRUNCATION, { truncationDirection: 'Left' }),
    { truncate: undefined, truncationDirection: 'left' },
    'any case, canonical lower case',
  );
  for (const [setName, set] of Object.entries(SETS)) {
    const wire = toWire(set, resolve(set, {}));
    for (const [name, opt] of Object.entries(set))
      t.equal(Object.hasOwn(wire, opt.wire), opt.native, `${setName}.${name}: sent natively = ${opt.native}`);
  }
  t.throws(() => fillMaskParams({ topK: 100 }, 32, { maxPredictions: 2000, maxMasks: 64 }), { code: 'ERR_TOO_MANY_PREDICTIONS' });
});
