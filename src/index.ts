// Library entry: the engine (no HTTP), the tokenizer, typed errors, and the HTTP server for
// embedding it in a program (startServer). Loading this module loads neither the native addon nor
// uWebSockets.js; they load on first use.
export { Engine } from './engine.js';
export { ThreadBudget } from './thread_budget.js';
export type { ThreadBudgetStats } from './thread_budget.js';
export type {
  EngineOptions,
  FillMaskOptions,
  EmbedOptions,
  EmbedPartsOptions,
  ClassifyOptions,
  RerankOptions,
  TokenClassifyOptions,
  TokenizeOptions,
  QuestionAnsweringOptions,
  ModelInfo,
  TaskInfo,
  EngineStats,
} from './engine.js';
export type { ResolvedEngineOptions } from './engine_options.js';
export type { PathChange } from './path_history.js';
export type { JsonAnswer, Timings } from './answers.js';
export { TASKS } from './tasks/task.js';
export type { Task } from './tasks/task.js';
export type { TextInput } from './tasks/inputs.js';
export type { RequestOptions, TruncationOptions } from './tasks/common.js';
export type { FillMaskParams, FillMaskPrediction, FillMaskOutput } from './tasks/fill_mask.js';
export type { EmbedParams } from './tasks/embed.js';
export type { ClassifyParams, RerankParams, ClassificationLabel, RerankResult } from './tasks/classify.js';
export type { TokenClassifyParams, TokenEntity, AggregationStrategy } from './tasks/token_classify.js';
export type { TokenizeParams, TokenInfo } from './tasks/tokenize.js';
export type { QuestionAnsweringParams, QuestionAnsweringInput, QuestionAnswer } from './tasks/question_answering.js';
export { Tokenizer } from './tokenizer.js';
export { BertServeError, HTTP_STATUS } from './errors.js';
export type { ErrorCode } from './errors.js';
export { startServer, Server, ServerStartError } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export type { DrainResult } from './server/shutdown.js';
export type { ServerConfig } from './config.js';
export { Logger } from './logger.js';
export type { LogLevel, LoggerOptions } from './logger.js';
