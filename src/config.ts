// Server configuration: every option has a command-line flag, an environment variable, a type, a
// default and a paragraph of documentation, all in the one OPTIONS table below (its one home: the
// ServerConfig type is derived from the table, the engine's options are the entries marked
// `engine: true`, which Engine.load checks against the same entries). --help and
// docs/configuration.md (`bert-serve --help=markdown`) are rendered from it. Precedence: flag, then
// environment variable (first listed wins), then default. Pure functions: no I/O besides reading
// the arguments and environment they are given, and the CPU budget (cpu_quota.ts: the cgroup CPU
// quota) that the thread default is derived from, which callers can pass in.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { LOG_LEVELS } from './logger.js';
import { cpuBudget, defaultIntraOpThreads, type CpuBudget } from './cpu_quota.js';
import { FAMILIES, familiesText } from './families.js';
import { tokenizerComponentLines } from './tokenizer_components.js';

/** The repository / package root (dist/config.js lives one level below it). */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
/** The model used when none is given (made by scripts/make_demo_model.py). */
export const DEMO_MODEL_DIR = join(packageRoot, 'models', 'demo');

export const TRANSPORT_MODES = ['auto', 'uws', 'node'] as const;
export type TransportMode = (typeof TRANSPORT_MODES)[number];

/** --model-control: whether the repository routes may load and unload models (server/model_control.ts). */
export const MODEL_CONTROL_MODES = ['none', 'explicit'] as const;

type Kind = 'string' | 'int' | 'number' | 'boolean' | 'choice';

export interface OptionSpec {
  key: string;
  flag: string;
  env: readonly string[];
  kind: Kind;
  default: string | number | boolean;
  /** How the default is shown when it is not the literal value. */
  defaultText?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  pattern?: RegExp;
  patternText?: string;
  metavar?: string;
  /** An option of the engine (Engine.load takes it too; the server hands it over as it is). */
  engine?: true;
  /** The flag may be given several times (ResolvedConfig.models keeps every value; the option's own value is the first). */
  repeatable?: true;
  /** One line: what it does. */
  doc: string;
  /** How to tune it (docs/configuration.md and --help). */
  tune?: string;
}

const KIB = 1024;

export const OPTIONS = [
  {
    key: 'model',
    engine: true,
    flag: 'model',
    env: ['BERT_SERVE_MODEL'],
    kind: 'string',
    default: DEMO_MODEL_DIR,
    defaultText: '<package>/models/demo',
    metavar: '[NAME=]DIR',
    repeatable: true,
    doc: `Model directory: model.pt (TorchScript), config.json and vocab.txt (+ tokenizer_config.json) or tokenizer.json. Families (config.json model_type): ${FAMILIES.map((f) => f.name).join(', ')}, each with its masked-LM, encoder, sequence- and token-classification and question-answering heads (docs/models.md); another model_type is refused at load with this list.`,
    tune:
      'Repeat it to serve several models from one process (docs/http.md#several-models): NAME=DIR names one (letters, digits, ".", "_", "-"), ' +
      'a bare DIR is named after the directory. Without it (and without --model-repository) the small demo model made by `npm run setup` ' +
      'is served, and the log says so.',
  },
  {
    key: 'modelRepository',
    flag: 'model-repository',
    env: ['BERT_SERVE_MODEL_REPOSITORY'],
    kind: 'string',
    default: '',
    defaultText: 'none',
    metavar: 'DIR',
    doc: "A directory whose every subdirectory is a model directory, served under the subdirectory's name (beside any --model).",
    tune: 'Subdirectories whose names start with "." are skipped. The server refuses to start, naming the model, when any of them fails to load.',
  },
  {
    key: 'defaultModel',
    flag: 'default-model',
    env: ['BERT_SERVE_DEFAULT_MODEL'],
    kind: 'string',
    default: '',
    defaultText: 'the first',
    metavar: 'NAME',
    doc: 'With several models: the one the unprefixed routes (POST /, /embed, /info ...) serve; the others answer under /models/NAME/... (default: the first --model, else the first repository entry by name).',
  },
  {
    key: 'modelControl',
    flag: 'model-control',
    env: ['BERT_SERVE_MODEL_CONTROL'],
    kind: 'choice',
    default: 'none',
    choices: MODEL_CONTROL_MODES,
    doc:
      "explicit: clients may load, reload and unload models while the server runs, through the Open Inference Protocol's " +
      'repository routes (POST /v2/repository/models/NAME/load and /unload; docs/http.md#load-reload-and-unload-at-run-time). ' +
      'none: those two routes answer 503 (as Triton does when model control is off); POST /v2/repository/index answers either way.',
    tune:
      'The models given at start-up still load at start-up. A load takes a directory inside --model-repository only. ' +
      'Set --api-key with it: the routes are never open without the key when one is set.',
  },
  {
    key: 'port',
    flag: 'port',
    env: ['BERT_SERVE_PORT', 'PORT'],
    kind: 'int',
    default: 8000,
    min: 0,
    max: 65535,
    metavar: 'N',
    doc: 'TCP port to listen on; 0 picks a free port (the "listening" log line names it).',
  },
  {
    key: 'host',
    flag: 'host',
    env: ['BERT_SERVE_HOST'],
    kind: 'string',
    default: '0.0.0.0',
    metavar: 'ADDR',
    doc: 'Address to listen on.',
    tune: 'Use 127.0.0.1 to accept local clients only.',
  },
  {
    key: 'transport',
    flag: 'transport',
    env: ['BERT_SERVE_TRANSPORT'],
    kind: 'choice',
    default: 'node',
    choices: TRANSPORT_MODES,
    doc:
      "HTTP implementation. node: Node's own node:http, which answers every HTTP/1.x client and proxy (HTTP/1.0 from " +
      "nginx's stock proxy_pass, pipelined requests in order, up to 16 KiB of headers however many lines). " +
      'uws: uWebSockets.js (the pinned build, then @btc-vision/uwebsockets.js), about half the CPU per request in the HTTP layer, ' +
      'but it never answers HTTP/1.0, closes a connection that pipelines behind an unfinished answer, and drops heads of more than 48 lines; ' +
      'refuses to start (exit 1, naming the fix) when no build loads here. auto: uws when a build loads, else node (logged at warn).',
    tune:
      'Choose uws only where every client speaks HTTP/1.1 without pipelining (haproxy, nginx with proxy_http_version 1.1, ' +
      "the usual clients) and the HTTP layer's CPU matters; docs/http.md#transports has the costs and the differences. " +
      'The "HTTP transport" startup log line and /info (http_transport) say which serves.',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: ['BERT_SERVE_TLS_CERT'],
    kind: 'string',
    default: '',
    defaultText: 'none (plain HTTP)',
    metavar: 'FILE',
    doc:
      "Serve HTTPS: the PEM certificate (a chain: the server's certificate first, then the intermediates), with --tls-key. " +
      'TLS is terminated by node:https: --transport node (the default) or auto; uws refuses to start with it.',
    tune:
      'For a cluster without a mesh, a demo over https, traffic encrypted up to the process; behind a proxy or mesh that terminates TLS, leave it off. ' +
      'The files are read once at start-up (restart to use a renewed certificate); a missing, unreadable or non-PEM file, or a key that is not ' +
      "the certificate's, stops the start-up (exit 1) naming the file. A plain-HTTP request to the port is answered 400 (use https://). " +
      'Kubernetes: mount a kubernetes.io/tls Secret and pass tls.crt and tls.key (docs/deploy.md).',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: ['BERT_SERVE_TLS_KEY'],
    kind: 'string',
    default: '',
    defaultText: 'none',
    metavar: 'FILE',
    doc: 'The PEM private key of --tls-cert, unencrypted (PKCS#8, PKCS#1 or SEC1).',
    tune: 'Readable by the server only (mode 0600, or a Secret mounted with defaultMode 0400).',
  },
  {
    key: 'device',
    engine: true,
    flag: 'device',
    env: ['BERT_SERVE_DEVICE'],
    kind: 'string',
    default: 'cpu',
    pattern: /^(cpu|cuda(:\d+)?)$/,
    patternText: '"cpu", "cuda" or "cuda:N"',
    metavar: 'DEV',
    doc: 'Where the model runs: cpu, cuda or cuda:N.',
    tune: 'cuda needs a CUDA build of the addon; startup fails with ERR_DEVICE_UNAVAILABLE otherwise.',
  },
  {
    key: 'dtype',
    engine: true,
    flag: 'dtype',
    env: ['BERT_SERVE_DTYPE'],
    kind: 'choice',
    default: 'float32',
    choices: ['float32', 'float16', 'bfloat16'],
    doc: 'Precision of the weights and activations.',
    tune: 'float16/bfloat16 need CUDA; they roughly halve memory and speed up large batches on tensor cores.',
  },
  {
    key: 'workers',
    engine: true,
    flag: 'workers',
    env: ['BERT_SERVE_WORKERS'],
    kind: 'int',
    default: 1,
    min: 1,
    max: 256,
    metavar: 'N',
    doc: 'Native worker threads, each running one batch at a time.',
    tune:
      'On CPU keep workers x intra-op-threads <= cores: one worker with all cores is usually best for latency, ' +
      'several workers with fewer threads each for throughput with small batches. On CUDA, 2 workers overlap ' +
      'host work with the GPU.',
  },
  {
    key: 'intraOpThreads',
    engine: true,
    flag: 'intra-op-threads',
    env: ['BERT_SERVE_INTRA_OP_THREADS'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 1024,
    defaultText: '0 (CPUs / workers)',
    metavar: 'N',
    doc:
      'Threads each worker uses inside one operator (libtorch intra-op threads); 0 = CPUs / workers, where CPUs is ' +
      "the smaller of the CPUs the process may run on and its cgroup CPU quota rounded up (a container's --cpus, " +
      "Kubernetes' limits.cpu).",
    tune:
      'Oversubscription (workers x threads > CPUs) makes everything slower; measure with the bench. ' +
      '--print-config shows the resolved number.',
  },
  {
    key: 'maxBatchRequests',
    engine: true,
    flag: 'max-batch-requests',
    env: ['BERT_SERVE_MAX_BATCH_REQUESTS'],
    kind: 'int',
    default: 32,
    min: 1,
    max: 65536,
    metavar: 'N',
    doc: 'Most requests (texts) in one batch.',
    tune: 'Larger batches raise throughput under load at the cost of the latency of each batch.',
  },
  {
    key: 'maxBatchTokens',
    engine: true,
    flag: 'max-batch-tokens',
    env: ['BERT_SERVE_MAX_BATCH_TOKENS'],
    kind: 'int',
    default: 16384,
    min: 1,
    max: 1 << 24,
    metavar: 'N',
    doc: 'Most padded tokens (longest text x texts) in one batch. A text longer than this is refused with 413.',
    tune: 'Bounds memory per batch; raise it on GPUs with memory to spare.',
  },
  {
    key: 'maxBatchDelayMs',
    engine: true,
    flag: 'max-batch-delay-ms',
    env: ['BERT_SERVE_MAX_BATCH_DELAY_MS'],
    kind: 'number',
    default: 1,
    min: 0,
    max: 10_000,
    metavar: 'MS',
    doc: 'How long a forming batch may wait for more requests while another batch is running. An idle engine never waits.',
    tune: 'A few ms can raise throughput under steady load; 0 favours latency.',
  },
  {
    key: 'sortByLength',
    engine: true,
    flag: 'sort-by-length',
    env: ['BERT_SERVE_SORT_BY_LENGTH'],
    kind: 'boolean',
    default: true,
    doc: 'Group queued texts of similar length into batches to reduce padding.',
  },
  {
    key: 'batchOverheadTokens',
    engine: true,
    flag: 'batch-overhead-tokens',
    env: ['BERT_SERVE_BATCH_OVERHEAD_TOKENS'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 1 << 20,
    defaultText: '0 (measured at warm-up)',
    metavar: 'N',
    doc: 'Fixed cost of one batch in padded-token equivalents: length grouping splits the queue where padding would cost more than another batch. 0 = timed for the model at warm-up (logged at startup).',
    tune: 'Larger values make fewer, fuller batches; smaller values make batches of closer lengths. See docs/batching.md.',
  },
  {
    key: 'fairBatchTokens',
    engine: true,
    flag: 'fair-batch-tokens',
    env: ['BERT_SERVE_FAIR_BATCH_TOKENS'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 1 << 24,
    defaultText: '0 (4 x the batch overhead)',
    metavar: 'N',
    doc:
      'With several models on CPU (they share one thread budget): the most padded tokens in one batch of a model while another model is active ' +
      '(leased threads in the last second). A batch holds its threads until it ends, so this bounds how long another model waits. ' +
      "0 = 4 x --batch-overhead-tokens, which keeps about 0.8 of a busy model's throughput by the batch cost model.",
    tune:
      "Smaller values shorten the other models' waits (latency) at the cost of the busy model's throughput; --max-batch-tokens turns the cap off. " +
      'See docs/architecture.md (threads and queues) and bench/fairness.js.',
  },
  {
    key: 'leaseSplit',
    flag: 'lease-split',
    env: ['BERT_SERVE_LEASE_SPLIT'],
    kind: 'boolean',
    default: true,
    doc:
      "With several models on CPU: a batch holding every thread of the budget gives one up at its next operator when another model's batch " +
      'waits, and takes it back when nothing waits; the waiting batch starts on it at once instead of after the whole running batch. Answers are the same bits.',
    tune:
      '--no-lease-split keeps a batch on its threads until it ends (the other model waits for the whole batch). ' +
      'See docs/batching.md (the lease split) and bench/fairness.js (variants split, no-split).',
  },
  {
    key: 'jitOptimize',
    engine: true,
    flag: 'jit-optimize',
    env: ['BERT_SERVE_JIT_OPTIMIZE'],
    kind: 'boolean',
    default: false,
    doc: "Run TorchScript's optimizing (profiling) executor, which re-specializes the graph for each new input shape.",
    tune: 'Off by default: measured within +-10% on CPU (docs/performance.md), and off never stalls on an unseen shape.',
  },
  {
    key: 'maxQueue',
    engine: true,
    flag: 'max-queue',
    env: ['BERT_SERVE_MAX_QUEUE'],
    kind: 'int',
    default: 1024,
    min: 1,
    max: 1 << 24,
    metavar: 'N',
    doc: 'Most texts accepted and not yet answered (queued or running), per served model. Past it requests are refused with 429 and Retry-After.',
    tune: 'About (throughput x acceptable queueing delay). Too large only lets latency grow; too small refuses bursts.',
  },
  {
    key: 'maxClientBatchSize',
    flag: 'max-client-batch-size',
    env: ['BERT_SERVE_MAX_CLIENT_BATCH_SIZE'],
    kind: 'int',
    default: 32,
    min: 1,
    max: 1 << 20,
    metavar: 'N',
    doc: 'Most inputs in one request\'s "inputs" list; more is refused with 413.',
  },
  {
    key: 'maxBodyBytes',
    flag: 'max-body-bytes',
    env: ['BERT_SERVE_MAX_BODY_BYTES'],
    kind: 'int',
    default: 1024 * KIB,
    min: 1,
    max: 1 << 30,
    defaultText: '1048576 (1 MiB)',
    metavar: 'BYTES',
    doc: 'Largest request body; larger ones are refused with 413 (checked on Content-Length and while reading chunked bodies).',
  },
  {
    key: 'maxAnswerBytes',
    flag: 'max-answer-bytes',
    env: ['BERT_SERVE_MAX_ANSWER_BYTES'],
    kind: 'int',
    default: 8 * 1024 * KIB,
    min: 1024,
    max: 1 << 30,
    defaultText: '8388608 (8 MiB)',
    metavar: 'BYTES',
    doc:
      "Largest answer body. A fill-mask answer grows as inputs x masks x top_k x the text's length; one over this is refused with 413 " +
      '(before inference, from a lower-bound estimate, or after it, on the exact size).',
    tune:
      'It is also the most memory a client that does not read its answer can hold (see --send-timeout-ms). ' +
      'Raise it only if clients need top_k in the hundreds for many long inputs at once.',
  },
  {
    key: 'maxInflightAnswerBytes',
    flag: 'max-inflight-answer-bytes',
    env: ['BERT_SERVE_MAX_INFLIGHT_ANSWER_BYTES'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 2 ** 50,
    defaultText: "0 (an eighth of the memory: the machine's, or the cgroup limit)",
    metavar: 'BYTES',
    doc:
      "Memory budget for answers across requests: each request holds an upper bound of its answer's bytes (x3 while it is built) " +
      "from the moment it is handed to the engine, then the answer's exact size until it is written or its client is gone. " +
      'A request that does not fit waits for room (see --max-waiting); arrivals while the budget is spent are refused with 503 and Retry-After. ' +
      'One budget for the process; with several models each keeps a floor of budget / (2 x models) that the others cannot take.',
    tune: 'RSS stays within the idle RSS plus this (docs/http.md, "Every cost, bounded"). At least 3 x --max-answer-bytes is used.',
  },
  {
    key: 'maxMemory',
    flag: 'max-memory',
    env: ['BERT_SERVE_MAX_MEMORY'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 2 ** 50,
    defaultText: '0 (no limit)',
    metavar: 'BYTES',
    doc:
      'Most memory the served models may hold together: a load (at start-up, or through POST /v2/repository/models/NAME/load) ' +
      "that would take them over it is refused before it starts, naming the sizes. A model's memory is measured across its load; " +
      'one not loaded yet is estimated from its files (docs/http.md#memory-per-model). During a reload the old and the new version both count.',
    tune:
      "Set it to what the models may use of the machine's or the container's memory, less the server's own (~250 MiB idle) and " +
      '--max-inflight-answer-bytes. /info (memory_bytes) and /metrics (bert_serve_model_memory_bytes) show what each model holds.',
  },
  {
    key: 'maxWaiting',
    flag: 'max-waiting',
    env: ['BERT_SERVE_MAX_WAITING'],
    kind: 'int',
    default: 4096,
    min: 0,
    max: 1 << 24,
    metavar: 'N',
    doc:
      'Requests that may wait, parsed, for room in the queue (--max-queue) or the memory budget, until their deadline (then 504), per served model; ' +
      'past it a request is refused at once (429 for the queue, 503 for memory). 0: never wait (every full queue is 429).',
    tune:
      'Waiting instead of a refusal keeps clients that retry at once from flooding the server; each waiting request holds its body. ' +
      'First come, first served, until the oldest has waited half its deadline; then the newest first, so that what is admitted still has time.',
  },
  {
    key: 'sendTimeoutMs',
    flag: 'send-timeout-ms',
    env: ['BERT_SERVE_SEND_TIMEOUT_MS'],
    kind: 'int',
    default: 10_000,
    min: 100,
    max: 86_400_000,
    metavar: 'MS',
    doc: "A client that accepts no byte of a large answer (over 64 KiB) for this long is disconnected and the answer's memory released.",
    tune: 'Large answers are written as the client reads them; this bounds how long one that stopped reading holds its answer.',
  },
  {
    key: 'maxTokens',
    engine: true,
    flag: 'max-tokens',
    env: ['BERT_SERVE_MAX_TOKENS'],
    kind: 'int',
    default: 0,
    min: 0,
    max: 1 << 20,
    defaultText: "0 (the model's maximum)",
    metavar: 'N',
    doc: "Most tokens per text, [CLS]/[SEP] included; 0 = the model's max_position_embeddings.",
    tune: 'Longer texts are refused with 413, or truncated with --truncate.',
  },
  {
    key: 'truncate',
    engine: true,
    flag: 'truncate',
    env: ['BERT_SERVE_TRUNCATE'],
    kind: 'boolean',
    default: false,
    doc: 'Truncate texts longer than --max-tokens instead of refusing them with 413.',
  },
  {
    key: 'pooling',
    engine: true,
    flag: 'pooling',
    env: ['BERT_SERVE_POOLING'],
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'cls', 'mean', 'max', 'lasttoken'],
    doc: "Embedding models: how token vectors become one vector. auto: sentence-transformers' modules.json / 1_Pooling/config.json in the model directory, else cls (as text-embeddings-inference).",
  },
  {
    key: 'maxPredictions',
    engine: true,
    flag: 'max-predictions',
    env: ['BERT_SERVE_MAX_PREDICTIONS'],
    kind: 'int',
    default: 2000,
    min: 1,
    max: 1 << 20,
    metavar: 'N',
    doc: 'Fill-mask: most predictions one request may ask for (top_k x masks, summed over its inputs); more is refused with 422.',
    tune: 'Each prediction repeats the decoded input in the answer: this bounds the answer size of one request.',
  },
  {
    key: 'maxMasks',
    engine: true,
    flag: 'max-masks',
    env: ['BERT_SERVE_MAX_MASKS'],
    kind: 'int',
    default: 64,
    min: 1,
    max: 1 << 20,
    metavar: 'N',
    doc: 'Fill-mask: most mask tokens in one text; more is refused with 422.',
  },
  {
    key: 'requestTimeoutMs',
    flag: 'request-timeout-ms',
    env: ['BERT_SERVE_REQUEST_TIMEOUT_MS'],
    kind: 'int',
    default: 30_000,
    min: 0,
    max: 86_400_000,
    metavar: 'MS',
    doc: 'Deadline per request, from its arrival: a request not answered by then gets 504 (dropped if not yet batched; a batch that runs past it is not waited for). A batch running longer than this makes /ready answer 503 (the model may hang). 0 = no deadline.',
    tune: "Set it below your clients' own timeout so work nobody waits for is dropped before it costs model time.",
  },
  {
    key: 'drainTimeoutMs',
    flag: 'drain-timeout-ms',
    env: ['BERT_SERVE_DRAIN_TIMEOUT_MS'],
    kind: 'int',
    default: 30_000,
    min: 0,
    max: 86_400_000,
    metavar: 'MS',
    doc: 'On SIGTERM/SIGINT, how long to finish in-flight requests before giving up (exit 1).',
    tune: "Keep it below Kubernetes' terminationGracePeriodSeconds.",
  },
  {
    key: 'warmup',
    engine: true,
    flag: 'warmup',
    env: ['BERT_SERVE_WARMUP'],
    kind: 'boolean',
    default: true,
    doc: 'Run warm-up forwards before reporting ready.',
    tune: 'Turning it off makes startup faster and the first requests slower.',
  },
  {
    key: 'pathHistory',
    engine: true,
    flag: 'path-history',
    env: ['BERT_SERVE_PATH_HISTORY'],
    kind: 'string',
    default: '',
    defaultText: '$XDG_STATE_HOME/bert-serve/head-paths.json (else ~/.local/state/...)',
    metavar: 'FILE',
    doc:
      "Where the server records how each model ran at its last load (the exporter's fill_mask_logits, the encoder " +
      'and head submodules, or the full forward), so that a change says so: a warn log line at startup and ' +
      '/info head_path_change. "off": not kept.',
    tune:
      'The answers are right on every path (docs/models.md); a change to the full forward costs speed, and this is how ' +
      'it shows. An unwritable file is logged at warn and the server serves anyway.',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['BERT_SERVE_LOG_LEVEL'],
    kind: 'choice',
    default: 'info',
    choices: LOG_LEVELS,
    doc: 'Least severe log level written to stderr. info includes the access log (--access-log-sample); debug also puts error details in 500 answers.',
  },
  {
    key: 'logFormat',
    flag: 'log-format',
    env: ['BERT_SERVE_LOG_FORMAT'],
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'json', 'text'],
    doc: 'Log line format: json (one object per line), text, or auto (text on a terminal, json otherwise).',
  },
  {
    key: 'accessLogSample',
    flag: 'access-log-sample',
    env: ['BERT_SERVE_ACCESS_LOG_SAMPLE'],
    kind: 'number',
    default: 1,
    min: 0,
    max: 1,
    metavar: 'FRACTION',
    doc:
      'Share of successful requests written to the access log ("request" lines at info: request_id, method, path, status, ms); ' +
      'errors (status >= 400) and clients that went away are always written (overload answers, 429/503/504, past 20 a second as one count a second).',
    tune: 'Lower it (0.01, or 0) when thousands of requests a second make the log itself a cost.',
  },
  {
    key: 'apiKey',
    flag: 'api-key',
    env: ['BERT_SERVE_API_KEY'],
    kind: 'string',
    default: '',
    defaultText: 'none',
    metavar: 'KEY',
    doc: 'Require `Authorization: Bearer KEY` on every route except /health, /ready, /openapi.json and /docs (401 otherwise).',
    tune: 'A flag is visible in the process list: prefer the environment variable or --api-key-file.',
  },
  {
    key: 'apiKeyFile',
    flag: 'api-key-file',
    env: ['BERT_SERVE_API_KEY_FILE'],
    kind: 'string',
    default: '',
    defaultText: 'none',
    metavar: 'PATH',
    doc: 'Read the API key from this file (surrounding whitespace dropped), e.g. a mounted Kubernetes Secret. Not with --api-key.',
  },
  {
    key: 'corsAllowOrigin',
    flag: 'cors-allow-origin',
    env: ['BERT_SERVE_CORS_ALLOW_ORIGIN'],
    kind: 'string',
    default: '',
    defaultText: 'none',
    pattern: /^\s*(\*|[a-z][a-z0-9+.-]*:\/\/[^\s,/]+\/?)(\s*,\s*(\*|[a-z][a-z0-9+.-]*:\/\/[^\s,/]+\/?))*\s*$/i,
    patternText: '"*" or a comma-separated list of origins (scheme://host[:port])',
    metavar: 'ORIGINS',
    doc:
      'Web page origins allowed to call the server from a browser (CORS): "*" or a comma-separated list such as ' +
      '"https://app.example.com,http://localhost:3000". Preflights (OPTIONS) are answered for them. None: no CORS header is sent.',
  },
] as const satisfies readonly OptionSpec[];

type Entry = (typeof OPTIONS)[number];
type ValueOf<E> = E extends { choices: readonly (infer C)[] }
  ? C
  : E extends { kind: 'int' | 'number' }
    ? number
    : E extends { kind: 'boolean' }
      ? boolean
      : string;
/** Every option's value, typed from the OPTIONS table (the one home of each option's type, default and doc). */
export type ServerConfig = { -readonly [E in Entry as E['key']]: ValueOf<E> };
/** The options that are the engine's (marked `engine: true`): Engine.load takes them. */
export type EngineOptionKey = Extract<Entry, { engine: true }>['key'];
/** The table as plain specs, for code that treats every option alike. */
export const ALL_OPTIONS: readonly OptionSpec[] = OPTIONS;
export const ENGINE_OPTIONS: readonly OptionSpec[] = ALL_OPTIONS.filter((o) => o.engine === true);

export interface ResolvedConfig extends ServerConfig {
  /** True when no model was given and the demo model is used. */
  modelIsDefault: boolean;
  /** Every --model given, in order (the environment variable gives one; none: []). */
  models: string[];
  /** Where each value came from: "flag", "env:NAME" or "default". */
  sources: Record<keyof ServerConfig, string>;
}

/** Every option at its default. */
export function defaultConfig(): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const o of ALL_OPTIONS) out[o.key] = o.default;
  return out as ServerConfig;
}

/** A usage error: bad flag, bad value. The CLI prints it with a hint and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type CliAction =
  | { action: 'serve'; config: ResolvedConfig }
  | { action: 'help'; format: 'text' | 'markdown' }
  | { action: 'version' }
  | { action: 'print-config'; config: ResolvedConfig };

const BY_FLAG = new Map(ALL_OPTIONS.map((o) => [o.flag, o]));

/**
 * Parses argv (without node and script) and the environment into an action. Throws ConfigError.
 * `cpus` gives the CPU budget that an intra-op thread count of 0 (the default) is resolved with.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cpus: () => CpuBudget = cpuBudget): CliAction {
  const fromFlags = new Map<string, string | boolean>();
  const repeated = new Map<string, string[]>();
  let printConfig = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { action: 'help', format: 'text' };
    if (arg === '--help=markdown') return { action: 'help', format: 'markdown' };
    if (arg === '-v' || arg === '--version') return { action: 'version' };
    if (arg === '--print-config') {
      printConfig = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (options start with --)`);
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | boolean | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = BY_FLAG.get(name);
    if (!spec && name.startsWith('no-') && value === undefined) {
      const positive = BY_FLAG.get(name.slice(3));
      if (positive?.kind === 'boolean') {
        spec = positive;
        name = positive.flag;
        value = false;
      }
    }
    if (!spec) throw new ConfigError(`unknown option --${name}`);
    if (value === undefined) {
      if (spec.kind === 'boolean') value = true;
      else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new ConfigError(`--${name} needs a value`);
        value = next;
        i++;
      }
    }
    if (spec.repeatable && fromFlags.has(spec.key)) {
      if (typeof value === 'string') repeated.get(spec.key)!.push(value);
      continue;
    }
    fromFlags.set(spec.key, value);
    if (spec.repeatable && typeof value === 'string') repeated.set(spec.key, [value]);
  }

  const out: Record<string, unknown> = {};
  const sources = {} as Record<keyof ServerConfig, string>;
  for (const spec of ALL_OPTIONS) {
    let raw: string | boolean | undefined = fromFlags.get(spec.key);
    let source = `--${spec.flag}`;
    if (raw === undefined) {
      for (const name of spec.env) {
        const v = env[name];
        if (v !== undefined && v !== '') {
          raw = v;
          source = name;
          break;
        }
      }
    }
    if (raw === undefined) {
      out[spec.key] = spec.default;
      sources[spec.key as keyof ServerConfig] = 'default';
    } else {
      out[spec.key] = convert(spec, raw, source);
      sources[spec.key as keyof ServerConfig] = source.startsWith('--') ? 'flag' : `env:${source}`;
    }
  }
  const config = out as unknown as ServerConfig;
  // 0 means "derive it": resolved here, from the cgroup quota too, rather than by the engine from
  // the machine's core count, which a container's CPU limit does not change.
  if (config.intraOpThreads === 0) config.intraOpThreads = defaultIntraOpThreads(config.workers, cpus());
  if (config.apiKey !== '' && config.apiKeyFile !== '') {
    throw new ConfigError(`--api-key (${sources.apiKey}) and --api-key-file (${sources.apiKeyFile}) are both set; give one`);
  }
  for (const extra of repeated.get('model')?.slice(1) ?? []) convert(BY_FLAG.get('model')!, extra, '--model');
  const models = repeated.get('model') ?? (sources.model === 'default' ? [] : [config.model]);
  const modelIsDefault = sources.model === 'default' && config.modelRepository === '';
  const resolved: ResolvedConfig = { ...config, modelIsDefault, models, sources };
  return printConfig ? { action: 'print-config', config: resolved } : { action: 'serve', config: resolved };
}

function convert(spec: OptionSpec, raw: string | boolean, source: string): string | number | boolean {
  const where = source.startsWith('--') ? source : `${source} (for --${spec.flag})`;
  const shown = JSON.stringify(raw);
  switch (spec.kind) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${where}: expected true or false but got ${shown}`);
    }
    case 'int':
    case 'number': {
      const s = String(raw).trim().replace(/_/g, '');
      const n = s === '' ? NaN : Number(s);
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where}: expected ${spec.kind === 'int' ? 'an integer' : 'a number'} but got ${shown}`);
      }
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConfigError(`${where}: expected a value between ${spec.min} and ${spec.max} but got ${n}`);
      }
      return n;
    }
    case 'choice': {
      const v = String(raw).trim().toLowerCase();
      if (!spec.choices!.includes(v)) throw new ConfigError(`${where}: expected one of ${spec.choices!.join(', ')} but got ${shown}`);
      return v;
    }
    case 'string': {
      if (typeof raw === 'boolean' || raw.trim() === '') throw new ConfigError(`${where}: expected a value`);
      if (spec.pattern && !spec.pattern.test(raw)) throw new ConfigError(`${where}: expected ${spec.patternText} but got ${shown}`);
      return raw;
    }
  }
}

export function packageVersion(): string {
  try {
    const path = join(packageRoot, 'package.json');
    if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    /* fall through */
  }
  return '0.0.0';
}

function defaultShown(o: OptionSpec): string {
  return o.defaultText ?? String(o.default);
}

function flagShown(o: OptionSpec): string {
  if (o.kind === 'boolean') return `--[no-]${o.flag}`;
  const metavar = o.metavar ?? (o.choices ? o.choices.join('|') : 'VALUE');
  return `--${o.flag} ${metavar}`;
}

/** The --help text. */
export function renderHelp(): string {
  const lines = [
    `bert-serve ${packageVersion()}: serve BERT-family models over HTTP (fill-mask, embeddings, classification, NER)`,
    '',
    'Usage: bert-serve [options]        (npm start -- [options])',
    '',
    'Every option can also be set by its environment variable; flags win.',
    '',
    'Options:',
  ];
  for (const o of ALL_OPTIONS) {
    lines.push(`  ${flagShown(o)}`);
    lines.push(`      env ${o.env.join(', ')}; default ${defaultShown(o)}`);
    for (const l of wrap(o.doc + (o.tune ? ' ' + o.tune : ''), 90)) lines.push(`      ${l}`);
  }
  lines.push('  -h, --help            this text (--help=markdown: the table of docs/configuration.md)');
  lines.push('  -v, --version         print the version');
  lines.push('  --print-config        print the resolved configuration as JSON and exit');
  lines.push('');
  lines.push("Tokenizer: the model directory's tokenizer.json (preferred) or an old BERT vocab.txt; tokenizer_config.json");
  lines.push('beside it names the special tokens. tokenizer.json components this build runs (anything else is refused');
  lines.push('at load, naming it):');
  lines.push(...tokenizerComponentLines());
  lines.push('');
  lines.push('Signals: SIGTERM/SIGINT drain (stop accepting, finish in-flight requests, exit 0;');
  lines.push('after --drain-timeout-ms, answer what is left 503 and exit 1). A second signal does that at once.');
  lines.push('');
  lines.push(`Model families (config.json model_type): ${familiesText()};`);
  lines.push('each as <Family>ForMaskedLM (fill-mask), <Family>Model (embeddings), <Family>ForSequenceClassification');
  lines.push('(classification, rerank), <Family>ForTokenClassification (NER) and <Family>ForQuestionAnswering');
  lines.push('(extractive question answering). See docs/models.md.');
  lines.push('Docs: docs/configuration.md, docs/http.md, docs/models.md, docs/tokenizer.md');
  return lines.join('\n') + '\n';
}

/** The options table of docs/configuration.md. */
export function renderMarkdownTable(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = ['| Flag | Environment variable | Default | What it does and how to tune it |', '|---|---|---|---|'];
  for (const o of ALL_OPTIONS) {
    const flag =
      o.kind === 'boolean'
        ? `\`--${o.flag}\` / \`--no-${o.flag}\``
        : `\`--${o.flag} ${o.metavar ?? (o.choices ? o.choices.join('\\|') : 'VALUE')}\``;
    rows.push(
      `| ${flag} | ${o.env.map((e) => `\`${e}\``).join(', ')} | \`${esc(defaultShown(o))}\` | ${esc(o.doc)}${o.tune ? ' ' + esc(o.tune) : ''} |`,
    );
  }
  return rows.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
