// The uWebSockets.js transport: loading a native build, the app and its listen socket, and the
// Wire over one uWS HttpResponse/HttpRequest.
//
// Loading: each build on npm covers some Node ABIs and needs some glibc (UWS_BUILDS). Its binary
// is required directly, not through the package's entry file: the pinned build's entry falls back
// to a slow pure-JS implementation (printing to the console) when its binary does not load, and
// the fallback is never what we want. So a build either loads natively or reports why not (no
// binary for this ABI; the dynamic loader's error, e.g. `GLIBC_2.38' not found).
//
// Wire contract (uWS): onAborted is registered FIRST, synchronously, in the request handler;
// every header the server needs is copied before the handler returns (HttpRequest is
// stack-allocated). A response is never touched after onAborted fired or after it was ended;
// Exchange guarantees the second, this file the first.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { ServerStartError, reasonPhrase, type Headers, type RequestHead, type Transport, type Wire } from './transport.js';

type UwsModule = typeof import('uWebSockets.js');
/** App.close() (closes the listen sockets and every connection) exists in both builds; the pinned build's types lack it. */
type App = TemplatedApp & { close(): void };

export interface UwsBuild {
  /** The name it is installed under (package.json dependencies). */
  readonly name: string;
  /** What to install, as package.json pins it. */
  readonly spec: string;
  /** Where its binaries are, relative to the directory of its entry file. */
  readonly binaries: string;
  /** Which Node versions and C library its binaries need (for the log and the error message). */
  readonly needs: string;
}

/** In order of preference: the pinned build first, then the alternative (an optional dependency). */
export const UWS_BUILDS: readonly UwsBuild[] = [
  {
    name: 'uWebSockets.js',
    spec: 'npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0',
    binaries: '../binaries',
    needs: 'Node 16, 18 or 20 (ABI 93, 108, 115) on glibc >= 2.17 Linux, macOS or Windows',
  },
  {
    name: '@btc-vision/uwebsockets.js',
    spec: '@btc-vision/uwebsockets.js@20.57.0',
    binaries: '.',
    needs: 'Node 20, 22, 24 or 25 (ABI 115, 127, 137, 141) on glibc >= 2.38 Linux, macOS or Windows',
  },
];

export type UwsLoad = { ok: true; uws: UwsModule; build: UwsBuild } | { ok: false; build: UwsBuild; reason: string };

/** Loads one build's native binary for this process's platform and Node ABI, or says why it cannot. */
export function loadUwsBuild(build: UwsBuild): UwsLoad {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(build.name);
  } catch {
    return { ok: false, build, reason: 'not installed' };
  }
  const file = join(dirname(entry), build.binaries, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  if (!existsSync(file)) {
    return {
      ok: false,
      build,
      reason: `no binary for ${process.platform}-${process.arch} and Node ABI ${process.versions.modules} (Node ${process.version})`,
    };
  }
  try {
    const uws = require(file) as UwsModule;
    if (typeof uws.App !== 'function') return { ok: false, build, reason: `${file} is not a uWebSockets.js binary` };
    return { ok: true, uws, build };
  } catch (e) {
    // The dynamic loader's message names what is missing (a glibc symbol version, a library).
    return { ok: false, build, reason: String((e as Error).message).split('\n')[0] };
  }
}

const STATUS_LINE = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINE.get(status);
  if (!line) {
    line = `${status} ${reasonPhrase(status)}`;
    STATUS_LINE.set(status, line);
  }
  return line;
}

export class UwsTransport implements Transport {
  readonly kind = 'uws';
  readonly scheme = 'http';
  readonly implementation: string;
  readonly #uws: UwsModule;
  #app: App | undefined;
  #listenSocket: us_listen_socket | undefined;

  constructor(loaded: { uws: UwsModule; build: UwsBuild }) {
    this.#uws = loaded.uws;
    this.implementation = `uWebSockets.js (${loaded.build.spec})`;
  }

  listen(host: string, port: number, onRequest: (wire: Wire) => void): Promise<number> {
    const uws = this.#uws;
    const app = (this.#app = uws.App() as App);
    app.any('/*', (res, req) => onRequest(new UwsWire(res, req)));
    return new Promise((resolve, reject) => {
      app.listen(host, port, (socket) => {
        if (!socket) {
          this.#app = undefined;
          reject(new ServerStartError('ERR_LISTEN', `could not listen on ${host}:${port} (address in use, or not permitted)`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uws.us_socket_local_port(socket));
      });
    });
  }

  stopListening(): void {
    if (this.#listenSocket) {
      this.#uws.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = undefined;
    }
  }

  closeConnections(): void {
    this.#app?.close();
    this.#app = undefined;
  }
}

class UwsWire implements Wire {
  readonly head: RequestHead;
  readonly #res: HttpResponse;
  #abortFn: (() => void) | undefined;
  /** The body of an answer being streamed; dropped when it is written or the client goes away. */
  #held: Uint8Array | undefined;

  constructor(res: HttpResponse, req: HttpRequest) {
    // FIRST and synchronously: after this, returning from the handler without answering is legal.
    res.onAborted(() => {
      this.#held = undefined;
      this.#abortFn?.();
    });
    this.#res = res;
    // Every header line, once: framing must see repeated lines, which getHeader hides.
    const framingLines: Array<[string, string]> = [];
    let contentType = '',
      contentEncoding = '',
      authorization = '',
      origin = '',
      requestId = '',
      preflightMethod = '';
    let authorizationLines = 0;
    req.forEach((k, v) => {
      if (k === 'content-type') contentType = v;
      else if (k === 'content-encoding') contentEncoding = v;
      else if (k === 'content-length' || k === 'transfer-encoding') framingLines.push([k, v]);
      else if (k === 'authorization') {
        authorization = v;
        authorizationLines++;
      } else if (k === 'origin') origin = v;
      else if (k === 'x-request-id') requestId = v;
      else if (k === 'access-control-request-method') preflightMethod = v;
    });
    this.head = {
      method: req.getCaseSensitiveMethod(),
      url: req.getUrl(),
      contentType,
      contentEncoding,
      framingLines,
      authorization,
      authorizationRepeated: authorizationLines > 1,
      missingHost: false,
      origin,
      requestId,
      preflightMethod,
    };
  }

  onAborted(fn: () => void): void {
    this.#abortFn = fn;
  }

  onData(fn: (chunk: Uint8Array, last: boolean) => void): void {
    this.#res.onData((chunk, last) => fn(new Uint8Array(chunk), last));
  }

  onMalformedBody(): void {
    // uWS's chunked parser closes the connection on a malformed body; onAborted follows.
  }

  end(status: number, headers: Headers, body: string | Uint8Array, bodyless: boolean, close: boolean): void {
    const res = this.#res;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      for (const [k, v] of headers) res.writeHeader(k, v);
      if (bodyless) res.endWithoutBody(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, close);
      else res.end(body, close);
    });
  }

  // res.end(body) would copy the whole body into uWS's per-socket buffer, where it stays for as
  // long as the client does not read. tryEnd writes what the socket accepts now and keeps no copy;
  // onWritable continues from the offset the client reached. `close` is not honoured here (uWS
  // has no tryEnd variant for it): a drain closes idle connections at its end.
  stream(status: number, headers: Headers, body: Uint8Array, _close: boolean, progress: () => void, finished: () => void): boolean {
    const res = this.#res;
    const total = body.byteLength;
    let base = 0;
    let done = false;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      for (const [k, v] of headers) res.writeHeader(k, v);
      base = res.getWriteOffset();
      done = res.tryEnd(body, total)[1];
    });
    if (done) return true;
    this.#held = body;
    let lastOffset = base;
    res.onWritable((offset) => {
      const held = this.#held;
      if (!held) return true;
      if (offset > lastOffset) {
        lastOffset = offset;
        progress();
      }
      const [ok, fin] = res.tryEnd(held.subarray(offset - base), total);
      if (fin) {
        this.#held = undefined;
        finished();
      }
      return ok;
    });
    return false;
  }

  close(): void {
    this.#res.close();
  }

  // pause() stops reading and clears uWS's timeout; resume() reads again and sets it to its full
  // 10 s: the only way JavaScript can restart that timer (it is not exposed otherwise).
  refreshTimeout(): void {
    this.#res.pause();
    this.#res.resume();
  }
}
