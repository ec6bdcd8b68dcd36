// Library entry: the engine (no HTTP), the tokenizer, typed errors, and the HTTP server for
// embedding it in a program (startServer). Loading this module loads neither the native addon nor
// uWebSockets.js; they load on first use.
export { Engine } from './engine.js';
export type {
  EngineOptions, RequestOptions, FillMaskOptions, FillMaskPrediction, FillMaskOutput, Timings, JsonAnswer,
  TokenizeOptions, TokenInfo, ModelInfo, EngineStats,
} from './engine.js';
export { Tokenizer } from './tokenizer.js';
export { BertServeError, HTTP_STATUS } from './errors.js';
export type { ErrorCode } from './errors.js';
export { startServer, Server, ServerStartError } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export type { DrainResult } from './server/shutdown.js';
export type { ServerConfig } from './config.js';
export { Logger } from './logger.js';
export type { LogLevel, LoggerOptions } from './logger.js';
