// POST /v2/models/{name}/infer, the Open Inference Protocol v2's inference (KServe v2, Triton):
//   {"id"?, "parameters"?, "inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": [str, ...]}],
//    "outputs"?: [{"name"}]}
//   -> {"model_name", "model_version", "id"?, "outputs": [{"name", "shape", "datatype", "data"}, ...]}
// Question answering takes two BYTES inputs of the same shape, "question" and "context" (pair i is
// element i of each). The texts go through the same pipeline as every other inference route
// (admission, body and input limits, deadline, cancel on hang-up); `parameters` are the task's
// options as its own routes name them (feature-extraction: /embed's; text-classification:
// /predict's; the others: POST /'s). What each task answers (oip_status.ts outputsOf):
//   feature-extraction    embedding      FP32  [n, dim]     /embed's vectors, the native bytes as they are
//   text-classification   probabilities  FP32  [n, labels]  in the label order of config.json's id2label
//                         label          BYTES [n]          the best label
//   token-classification  entities       BYTES [n]          each text's POST / answer as a JSON string
//   fill-mask             predictions    BYTES [n]          the same (no tensor fits a list of records)
//   question-answering    answer BYTES, score FP32, start INT64, end INT64: [n], or [n, top_k] when
//                         top_k > 1 (rows with fewer spans padded with "", 0, 0, 0, as the pipeline
//                         pads with score-0 spans); start/end in UTF-16 code units, as POST /
// One declaration per task (the router picks the served model's), as POST /. A request that does
// not fit is 400 (the protocol's "bad request"), a list over --max-client-batch-size 413.
import type { Engine } from '../../engine.js';
import { BertServeError } from '../../errors.js';
import { parseAnswer, type JsonAnswer } from '../../answers.js';
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { RERANK, RERANK_ROUTES } from '../../tasks/classify.js';
import { TOKEN_CLASSIFY, TOKEN_CLASSIFY_ROUTES } from '../../tasks/token_classify.js';
import { FILL_MASK, FILL_MASK_ROUTES } from '../../tasks/fill_mask.js';
import { QUESTION_ANSWERING, QUESTION_ANSWERING_ROUTES, type QuestionAnswer } from '../../tasks/question_answering.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields, resolve, type Schema } from '../../tasks/option.js';
import type { RequestOptions } from '../../tasks/common.js';
import { TASK_NAMES, type Task } from '../../tasks/task.js';
import { STRING, object, parameters, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { AnswerKind } from '../answer_size.js';
import { fillMaskCosts } from '../answer_size.js';
import { embeddingSize, inputsOf, outputsOf, type TensorMeta } from './oip_status.js';
import { params } from './hf_root.js';
import type { Body, InferenceRoute, Job, ModelFacts } from './route.js';

interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** What one task's declaration adds: its parameters, and the Job for its inputs. */
interface Own {
  parameters: Record<string, Schema>;
  answerKind: AnswerKind;
  example: Record<string, unknown>;
  /** The example request's data, one list per input of inputsOf(task). */
  exampleData?: (m: ModelFacts) => string[][];
  /** Runs the inputs' data (one list per input of inputsOf(task), as long as each other); answers the output tensors, each as its JSON text (`data` may be native bytes). */
  plan(engine: Engine, data: string[][], p: Body): Omit<Job, 'run'> & { run: (o: RequestOptions) => Promise<Outputs> };
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

/** What fills a question-answering row up to top_k when the context has fewer spans (the pipeline's are score 0 too). */
const NO_ANSWER: QuestionAnswer = { answer: '', score: 0, start: 0, end: 0 };

const OWN: Record<Task, Own> = {
  'feature-extraction': {
    parameters: { ...httpFields(EMBED, EMBED_ROUTES.embed), ...truncation() },
    answerKind: 'pooled',
    example: { normalize: true },
    plan(engine, [texts], p) {
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
    plan(engine, [texts], p) {
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
    plan(engine, [texts], p) {
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
    exampleData: (m) => [[`Paris is the ${m.maskToken} of France.`]],
    plan(engine, [texts], p) {
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
  'question-answering': {
    parameters: httpFields(QUESTION_ANSWERING, QUESTION_ANSWERING_ROUTES.root),
    answerKind: 'spans',
    example: { top_k: 1 },
    exampleData: () => [['Where does Sarah live?'], ['My name is Sarah and I live in London.']],
    plan(engine, [questions, contexts], p) {
      const options = fromBody(QUESTION_ANSWERING, QUESTION_ANSWERING_ROUTES.root, p);
      const k = resolve(QUESTION_ANSWERING, options).topK as number;
      const pairs = questions.map((question, i) => ({ question, context: contexts[i] }));
      return {
        texts: pairs.length,
        // Each pair's answers: top_k of them, and the null answer (answer_size.ts, as POST /).
        predictions: pairs.length * (k + 1),
        run: async (o) => {
          const answer = await engine.questionAnsweringJson(pairs, { ...options, ...o });
          // A list of pairs: per pair one answer, or a list (several, or none when the context has no span).
          const rows = (parseAnswer(answer) as Array<QuestionAnswer | QuestionAnswer[]>).map((a) => {
            const list = Array.isArray(a) ? a : [a];
            return [...list, ...Array<QuestionAnswer>(k - list.length).fill(NO_ANSWER)];
          });
          const shape = k === 1 ? [pairs.length] : [pairs.length, k];
          const tensor = (name: string, datatype: TensorMeta['datatype'], field: keyof QuestionAnswer) =>
            [
              name,
              tensorJson({ name, shape, datatype }, JSON.stringify(rows.map((r) => (k === 1 ? r[0][field] : r.map((x) => x[field]))))),
            ] as const;
          return {
            answer,
            tensors: new Map([
              tensor('answer', 'BYTES', 'answer'),
              tensor('score', 'FP32', 'score'),
              tensor('start', 'INT64', 'start'),
              tensor('end', 'INT64', 'end'),
            ]),
          };
        },
      };
    },
  },
};

const bad = (message: string) => new BertServeError('ERR_INVALID_ARGUMENT', message);

/** "a", "a" and "b": the inputs' names for messages. */
const listed = (inputs: readonly TensorMeta[]) => inputs.map((i) => `"${i.name}"`).join(' and ');

/**
 * The data of each input the task takes (inputsOf), in that order, from a validated request: every
 * input named once, each shape the number of its elements ([n], or [n, 1]), the same n for all.
 */
function inputData(body: Body, expected: readonly TensorMeta[]): string[][] {
  const inputs = body.inputs as Array<{ name: string; shape: number[]; data: string[] }>;
  if (inputs.length !== expected.length)
    throw bad(
      expected.length === 1
        ? `Expected one input tensor (${listed(expected)}) but received ${inputs.length}`
        : `Expected ${expected.length} input tensors (${listed(expected)}) but received ${inputs.length}`,
    );
  inputs.forEach(({ name, shape, data }, i) => {
    const n = data.length;
    if (!expected.some((e) => e.name === name))
      throw bad(`Expected the input${expected.length > 1 ? 's' : ''} ${listed(expected)} but received "${name}"`);
    if (inputs.findIndex((x) => x.name === name) !== i) throw bad(`Expected the inputs ${listed(expected)} but received "${name}" twice`);
    if (!(shape[0] === n && (shape.length === 1 || (shape.length === 2 && shape[1] === 1))))
      throw bad(
        `Expected the shape [${n}] (or [${n}, 1]) for "inputs[${i}].shape", the number of texts in its data, but received [${shape.join(', ')}]`,
      );
  });
  const data = expected.map((e) => inputs.find((x) => x.name === e.name)!);
  if (data.some((d) => d.data.length !== data[0].data.length))
    throw bad(`Expected ${listed(expected)} of the same shape, but received ${data.map((d) => `[${d.shape.join(', ')}]`).join(' and ')}`);
  return data.map((d) => d.data);
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

function request(task: Task, limit: number): Schema {
  const tensorParams = { type: 'object', description: 'Ignored.' };
  const inputs = inputsOf(task);
  const one = inputs.length === 1;
  return object(
    {
      id: prop('a string', STRING, 'Echoed in the answer.'),
      parameters: parameters(OWN[task].parameters),
      inputs: prop(
        one ? 'a list of one input tensor' : `a list of ${inputs.length} input tensors`,
        {
          type: 'array',
          minItems: 1,
          items: object(
            {
              name: prop('a string', STRING, `The input's name: ${listed(inputs).replace(' and ', ' or ')}.`),
              shape: prop(
                'a list of integers',
                { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
                '[n]: the number of texts.',
              ),
              datatype: {
                const: 'BYTES',
                description: 'BYTES: each element is a text.',
                'x-message': `Expected the datatype "BYTES" for the input${one ? '' : 's'} ${listed(inputs)}: ${one ? 'its' : 'their'} elements are texts`,
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
        one ? `One input tensor, ${listed(inputs)}.` : `${inputs.length} input tensors of the same shape, ${listed(inputs)}.`,
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

function declaration(task: Task): InferenceRoute {
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
    example: (m) => {
      const data = own.exampleData?.(m) ?? [['hello world']];
      return {
        id: '42',
        inputs: inputsOf(task).map((input, i) => ({ name: input.name, shape: [data[i].length], datatype: 'BYTES', data: data[i] })),
        parameters: own.example,
      };
    },
    answer: A.object({ model_name: A.string, model_version: A.string, id: A.string, outputs: A.list(TENSOR_OUT) }, [
      'model_name',
      'model_version',
      'outputs',
    ]),
    answerKind: own.answerKind,
    plan(engine, body, modelName) {
      const data = inputData(body, inputsOf(task));
      const names = selected(
        body,
        outputsOf(task, engine).map((o) => o.name),
      );
      const job = own.plan(engine, data, params(body));
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
export const oipInfer: readonly InferenceRoute[] = TASK_NAMES.map(declaration);
