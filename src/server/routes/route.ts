// One declaration per route: its method and path, the tasks it serves, its request schema, its
// answer's schema and shape, its documentation, and what it does. Everything else derives from the
// list of declarations (routes/index.ts): the route table and Allow headers (router.ts), the open
// paths (auth), the validators (api/validate.ts), /openapi.json (api/openapi.ts) and which routes
// belong to which task. A new route is one file here, added to that list.
//
// An inference route does not touch the Exchange: the pipeline (pipeline.ts) admits, reads, parses
// and validates the request, calls the route's plan() with the validated body, runs the Job it
// returns and writes the answer. A status route answers through the Exchange itself (handle()).
//
// Served per model: `perModel` marks the declarations that make sense for one model among several
// (inference, /info) rather than for the process (liveness, metrics, the API page); a table of
// /models/{name}/... routes is those declarations with the prefix, admitted against that model's
// engine instead of ctx.engine (routeTable(routes, prefix) builds the paths).
import type { Engine } from '../../engine.js';
import type { JsonAnswer } from '../../answers.js';
import type { RequestOptions } from '../../tasks/common.js';
import type { Task } from '../../tasks/task.js';
import type { Schema } from '../../tasks/option.js';
import type { AnswerKind } from '../answer_size.js';
import type { Exchange } from '../exchange.js';
import type { RouteContext } from '../context.js';

/** In a declared path, the segment that names the served model (router.ts): /v2/models/{name}/infer. */
export const NAME = '{name}';

/** A validated request body (the route's schema holds; fields are read with the types the schema gives). */
export type Body = Record<string, unknown>;

/** What the pipeline runs for one request. */
export interface Job {
  /** Texts handed to the engine: room for all of them in the queue, or none (gate.ts). */
  texts: number;
  /** A LOWER bound of the answer's bytes, when it can be large (fill-mask): over --max-answer-bytes, 413 before the work. */
  minAnswerBytes?: number;
  /** What the client can do when the answer is over --max-answer-bytes (answer_size.ts; default: fill-mask's). */
  tooLargeHint?: string;
  /** Fill-mask: the predictions asked for; question answering: the answers. For the answer's upper bound (answer_size.ts). */
  predictions?: number;
  /** The engine call, with the client's abort signal and the deadline left. */
  run: (options: RequestOptions) => Promise<JsonAnswer>;
}

/** The served model as documents and checks see it. */
export interface ModelFacts {
  task: Task;
  labels: readonly string[];
  maskToken: string;
  modelId: string;
}

interface Declared {
  readonly path: string;
  /** Answered without the API key (--api-key): probes and the API description. */
  readonly open: boolean;
  /** A /models/{name}/... variant makes sense (see the header). */
  readonly perModel: boolean;
  /** For /openapi.json; absent: not in the document (the API page's assets). */
  readonly doc?: { readonly summary: string; readonly description: string; readonly tag?: string };
}

export interface InferenceRoute extends Declared {
  readonly kind: 'inference';
  readonly method: 'POST';
  /** The tasks whose models it serves ('any': every model); other models' requests get 422 naming the task. */
  readonly tasks: readonly Task[] | 'any';
  /** A served model that still cannot serve it, and why (a 422, decided before the body is read). */
  readonly refuses?: (model: ModelFacts) => string | undefined;
  /** The JSON body's schema for a --max-client-batch-size of `limit` (api/validate.ts compiles it). */
  readonly request: (limit: number) => Schema;
  /** An example body for the document. */
  readonly example: (model: ModelFacts) => unknown;
  /**
   * The body field that names the model (OpenAI's `model`): with several models served and no
   * /models/{name} in the path, the request goes to the model it names (404 for one not served;
   * absent: the default model). With one model, any name is taken and echoed.
   */
  readonly modelField?: string;
  /** Takes a body of any Content-Type but application/json as one raw text (the seed recipe's `curl -d`): the body it stands for. */
  readonly rawText?: (text: string) => Body;
  readonly answer: Schema;
  /** What the answer looks like, for its upper bound in the memory budget (answer_size.ts). */
  readonly answerKind: AnswerKind;
  /** The Job for a validated body, for the model served as `modelName`. May throw a BertServeError (answered through errors.ts HTTP_STATUS). */
  readonly plan: (engine: Engine, body: Body, modelName: string) => Job;
  /**
   * The status of a request that parses but does not fit the schema, or that plan() refuses with
   * ERR_INVALID_ARGUMENT (default 422, as the HF and TEI shapes; 400 where a protocol says so, as
   * the Open Inference Protocol). A list over --max-client-batch-size stays 413.
   */
  readonly invalidStatus?: 400;
}

export interface StatusRoute extends Declared {
  readonly kind: 'status';
  /** GET (answered to HEAD as well), or POST for a route that reads its own small body (the model repository's). */
  readonly method: 'GET' | 'POST';
  /**
   * Its path's {name} may name a model that is not served (yet): the router does not answer 404
   * for it, and the route reads the name itself (routes/oip_repository.ts: a load of a new model).
   */
  readonly anyModelName?: true;
  /** A POST route's optional JSON body, for the document. */
  readonly body?: Schema;
  /** The answer's content by media type, for the document. */
  readonly content?: Record<string, Schema>;
  /** 503 while the model loads (or while draining), for the document. */
  readonly unavailable?: string;
  readonly handle: (ctx: RouteContext, ex: Exchange) => void | Promise<void>;
}

export type Route = InferenceRoute | StatusRoute;

/** Whether `route` serves a model of `task`. */
export function servesTask(route: InferenceRoute, task: Task): boolean {
  return route.tasks === 'any' || route.tasks.includes(task);
}
