// POST /v2/models/{name}/infer, the Open Inference Protocol v2's inference (KServe v2, Triton):
//   {"id"?, "parameters"?, "inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": [str, ...]}],
//    "outputs"?: [{"name"}]}
//   -> {"model_name", "model_version", "id"?, "outputs": [{"name", "shape", "datatype", "data"}, ...]}
// The texts go through the same pipeline as every other inference route (admission, body and
// input limits, deadline, cancel on hang-up); `parameters` are the task's options as its own
// routes name them (feature-extraction: /embed's; text-classification: /predict's;
// token-classification and fill-mask: POST /'s). What each task answers (oip_status.ts outputsOf):
//   feature-extraction    embedding      FP32  [n, dim]     /embed's vectors, the native bytes as they are
//   text-classification   probabilities  FP32  [n, labels]  in the label order of config.json's id2label
//                         label          BYTES [n]          the best label
//   token-classification  entities       BYTES [n]          each text's POST / answer as a JSON string
//   fill-mask             predictions    BYTES [n]          the same (no tensor fits a list of records)
// One declaration per task (the router picks the served model's), as POST /. A request that does
// not fit is 400 (the protocol's "bad request"), a list over --max-client-batch-size 413.
import type { Engine } from '../../engine.js';
import { BertServeError } from '../../errors.js';
import { parseAnswer, type JsonAnswer } from '../../answers.js';
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { RERANK, RERANK_ROUTES } from '../../tasks/classify.js';
import { TOKEN_CLASSIFY, TOKEN_CLASSIFY_ROUTES } from '../../tasks/token_classify.js';
import { FILL_MASK, FILL_MASK_ROUTES } from '../../tasks/fill_mask.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields, resolve, type Schema } from '../../tasks/option.js';
import type { RequestOptions } from '../../tasks/common.js';
import type { Task } from '../../tasks/task.js';
import { STRING, object, parameters, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { AnswerKind } from '../answer_size.js';
import { fillMaskCosts } from '../answer_size.js';
import { INPUT, embeddingSize, outputsOf } from './oip_status.js';
import { params } from './hf_root.js';
import type { Body, InferenceRoute, Job } from './route.js';

interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** What one task's declaration adds: its parameters, and the Job for its texts. */
interface Own {
  parameters: Record<string, Schema>;
  answerKind: AnswerKind;
  example: Record<string, unknown>;
  /** Runs the texts; answers the output tensors, each as its JSON text (`data` may be native bytes). */
  plan(engine: Engine, texts: string[], p: Body): Omit<Job, 'run'> & { run: (o: RequestOptions) => Promise<Outputs> };
}

/** The tensors' JSON by output name (the `data` of the embedding is the engine's bytes, not re-encoded), with the engine's timings. */
interface Outputs {
  tensors: Map<string, Buffer>;
  answer: JsonAnswer;
}

const tensorJson = (t: Omit<Tensor, 'data'>, data: Buffer | string): Buffer =>
  Buffer.concat([
    Buffer.from(JSON.stringify(t).slice(0, -1) + ',"data":'),
    typeof data === 'string' ? Buffer.from(data) : data,
    Buffer.from('}'),
  ]);

/** Each text's answer, parsed from a joined list, as one JSON string per text (a BYTES tensor). */
const asStrings = (a: JsonAnswer, single: boolean): string => {
  const parsed = parseAnswer(a);
  return JSON.stringify((single ? [parsed] : (parsed as unknown[])).map((x) => JSON.stringify(x)));
};

const truncation = () => httpFields(TRUNCATION, TRUNCATION_KEYS);

/**
 * The tasks served over the protocol: every one whose request is texts. Question answering is not
 * (a question needs its context: two texts per element); its model answers this route with 422.
 */
type OipTask = Exclude<Task, 'question-answering'>;

const OWN: Record<OipTask, Own> = {
  'feature-extraction': {
    parameters: { ...httpFields(EMBED, EMBED_ROUTES.embed), ...truncation() },
    answerKind: 'pooled',
    example: { normalize: true },
    plan(engine, texts, p) {
      const options = { ...fromBody(EMBED, EMBED_ROUTES.embed, p), ...fromBody(TRUNCATION, TRUNCATION_KEYS, p) };
      const dim = Math.min(options.dimensions ?? Infinity, embeddingSize(engine));
      return {
        texts: texts.length,
        run: async (o) => {
          const answer = await engine.embedJson(texts, { ...options, ...o });
          const shape = [texts.length, dim];
          return { answer, tensors: new Map([['embedding', tensorJson({ name: 'embedding', shape, datatype: 'FP32' }, answer.body)]]) };
        },
      };
    },
  },
  'text-classification': {
    parameters: { ...httpFields(RERANK, RERANK_ROUTES.predict), ...truncation() },
    answerKind: 'labels',
    example: { raw_scores: false },
    plan(engine, texts, p) {
      const options = {
        ...fromBody(TRUNCATION, TRUNCATION_KEYS, p),
        topK: null,
        functionToApply: fromBody(RERANK, RERANK_ROUTES.predict, p).rawScores ? ('none' as const) : undefined,
      };
      const labels = engine.info.taskInfo.labels ?? [];
      return {
        texts: texts.length,
        run: async (o) => {
          const answer = await engine.classifyJson(texts, { ...options, ...o });
          // Every label, best first, per text (as /predict): reordered to the labels' order. n x labels
          // numbers, a few per text: parsed and written here.
          const ranked = parseAnswer(answer) as Array<Array<{ label: string; score: number }>>;
          const probabilities = ranked.map((r) => {
            const byLabel = new Map(r.map((x) => [x.label, x.score]));
            return labels.map((l) => byLabel.get(l)!);
          });
          const n = texts.length;
          return {
            answer,
            tensors: new Map([
              [
                'probabilities',
                tensorJson({ name: 'probabilities', shape: [n, labels.length], datatype: 'FP32' }, JSON.stringify(probabilities)),
              ],
              ['label', tensorJson({ name: 'label', shape: [n], datatype: 'BYTES' }, JSON.stringify(ranked.map((r) => r[0].label)))],
            ]),
          };
        },
      };
    },
  },
  'token-classification': {
    parameters: {
      ...httpFields(TOKEN_CLASSIFY, TOKEN_CLASSIFY_ROUTES.root, {
        aggregationStrategy: { doc: 'How tokens become entities (default "simple", as POST /).' },
      }),
      ...truncation(),
    },
    answerKind: 'token-records',
    example: { aggregation_strategy: 'simple' },
    plan(engine, texts, p) {
      const given = fromBody(TOKEN_CLASSIFY, TOKEN_CLASSIFY_ROUTES.root, p);
      const options = {
        ...given,
        ...fromBody(TRUNCATION, TRUNCATION_KEYS, p),
        aggregationStrategy: given.aggregationStrategy ?? ('simple' as const),
      };
      return {
        texts: texts.length,
        run: async (o) => {
          const answer = await engine.tokenClassifyJson(texts, { ...options, ...o });
          return {
            answer,
            tensors: new Map([
              ['entities', tensorJson({ name: 'entities', shape: [texts.length], datatype: 'BYTES' }, asStrings(answer, false))],
            ]),
          };
        },
      };
    },
  },
  'fill-mask': {
    parameters: { ...httpFields(FILL_MASK, FILL_MASK_ROUTES.root), ...truncation() },
    answerKind: 'fill-mask',
    example: { top_k: 3 },
    plan(engine, texts, p) {
      const options = { ...fromBody(FILL_MASK, FILL_MASK_ROUTES.root, p), ...fromBody(TRUNCATION, TRUNCATION_KEYS, p) };
      // The answer's bounds, counted as on POST / (answer_size.ts fillMaskCosts).
      const topK = resolve(FILL_MASK, options).topK as number;
      const targets =
        options.targets === undefined ? undefined : (typeof options.targets === 'string' ? [options.targets] : options.targets).length;
      const mask = engine.tokenizer.info.specialTokens.mask ?? '[MASK]';
      return {
        texts: texts.length,
        ...fillMaskCosts(texts, topK, mask, targets),
        run: async (o) => {
          // A list of one text is answered with that text's answer (as Hugging Face does): `single`.
          const answer = await engine.fillMaskJson(texts, { ...options, ...o });
          return {
            answer,
            tensors: new Map([
              [
                'predictions',
                tensorJson({ name: 'predictions', shape: [texts.length], datatype: 'BYTES' }, asStrings(answer, texts.length === 1)),
              ],
            ]),
          };
        },
      };
    },
  },
};

const bad = (message: string) => new BertServeError('ERR_INVALID_ARGUMENT', message);

/** The texts of a validated request's one input, its shape checked against them. */
function textsOf(body: Body): string[] {
  const inputs = body.inputs as Array<{ name: string; shape: number[]; data: string[] }>;
  if (inputs.length !== 1) throw bad(`Expected one input tensor ("${INPUT.name}") but received ${inputs.length}`);
  const [input] = inputs;
  if (input.name !== INPUT.name) throw bad(`Expected the input "${INPUT.name}" but received "${input.name}"`);
  const n = input.data.length;
  const { shape } = input;
  if (!(shape[0] === n && (shape.length === 1 || (shape.length === 2 && shape[1] === 1))))
    throw bad(
      `Expected the shape [${n}] (or [${n}, 1]) for "inputs[0].shape", the number of texts in its data, but received [${shape.join(', ')}]`,
    );
  return input.data;
}

/** The outputs asked for, in the order asked (absent: every output of the task). */
function selected(body: Body, all: readonly string[]): string[] {
  const asked = body.outputs as Array<{ name: string }> | undefined;
  if (asked === undefined) return [...all];
  for (const o of asked)
    if (!all.includes(o.name))
      throw bad(`Expected an output of this model (${all.map((a) => `"${a}"`).join(', ')}) but received "${o.name}"`);
  return asked.map((o) => o.name);
}

function request(task: OipTask, limit: number): Schema {
  const tensorParams = { type: 'object', description: 'Ignored.' };
  return object(
    {
      id: prop('a string', STRING, 'Echoed in the answer.'),
      parameters: parameters(OWN[task].parameters),
      inputs: prop(
        'a list of one input tensor',
        {
          type: 'array',
          minItems: 1,
          items: object(
            {
              name: prop('a string', STRING, `The input's name: "${INPUT.name}".`),
              shape: prop(
                'a list of integers',
                { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
                '[n]: the number of texts.',
              ),
              datatype: {
                const: 'BYTES',
                description: 'BYTES: each element is a text.',
                'x-message': 'Expected the datatype "BYTES" for the input "text": its elements are texts',
              },
              parameters: tensorParams,
              data: prop(
                'a list of strings',
                { type: 'array', items: STRING, minItems: 1, maxItems: limit },
                `The texts: 1 to ${limit} strings (--max-client-batch-size; more is 413).`,
              ),
            },
            ['name', 'shape', 'datatype', 'data'],
          ),
        },
        `One input tensor, "${INPUT.name}".`,
      ),
      outputs: prop(
        'a list of {"name"} objects',
        { type: 'array', minItems: 1, items: object({ name: STRING, parameters: tensorParams }, ['name']) },
        'The outputs to answer (default: all).',
      ),
    },
    ['inputs'],
  );
}

const TENSOR_OUT = A.object({ name: A.string, shape: A.list(A.integer), datatype: A.string, data: A.list({}) });

function declaration(task: OipTask): InferenceRoute {
  const own = OWN[task];
  return {
    kind: 'inference',
    method: 'POST',
    path: '/v2/models/{name}/infer',
    tasks: [task],
    open: false,
    perModel: false,
    invalidStatus: 400,
    doc: {
      summary: `${task} (Open Inference Protocol v2)`,
      description:
        "Texts in a BYTES input; the task's answer as output tensors (docs/http.md#open-inference-protocol-v2). 400 for a request that does not fit, 404 for a model not served.",
      tag: 'Open Inference Protocol v2',
    },
    request: (limit) => request(task, limit),
    example: (m) => ({
      id: '42',
      inputs: [
        {
          name: INPUT.name,
          shape: [1],
          datatype: 'BYTES',
          data: [task === 'fill-mask' ? `Paris is the ${m.maskToken} of France.` : 'hello world'],
        },
      ],
      parameters: own.example,
    }),
    answer: A.object({ model_name: A.string, model_version: A.string, id: A.string, outputs: A.list(TENSOR_OUT) }, [
      'model_name',
      'model_version',
      'outputs',
    ]),
    answerKind: own.answerKind,
    plan(engine, body, modelName) {
      const texts = textsOf(body);
      const names = selected(
        body,
        outputsOf(task, engine).map((o) => o.name),
      );
      const job = own.plan(engine, texts, params(body));
      const head = JSON.stringify({
        model_name: modelName,
        model_version: engine.version,
        ...(body.id !== undefined ? { id: body.id } : {}),
      }).slice(0, -1);
      return {
        ...job,
        tooLargeHint: 'send fewer texts, or ask for fewer outputs',
        run: async (o) => {
          const { answer, tensors } = await job.run(o);
          const outs = names.flatMap((name, i) => [Buffer.from(i === 0 ? '' : ','), tensors.get(name)!]);
          return { ...answer, body: Buffer.concat([Buffer.from(`${head},"outputs":[`), ...outs, Buffer.from(']}')]) };
        },
      };
    },
  };
}

/** One declaration per task (the router picks the served model's). */
export const oipInfer: readonly InferenceRoute[] = (
  ['feature-extraction', 'text-classification', 'token-classification', 'fill-mask'] as const
).map(declaration);
