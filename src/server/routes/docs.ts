// GET /openapi.json (api/openapi.ts, built once per engine) and GET /docs: Swagger UI
// (swagger-ui-dist, pinned) served from the installed package, no CDN. The page's own script is a
// file, not inline, so a Content-Security-Policy without 'unsafe-inline' can serve it. URLs are
// relative, so the page also works behind a proxy that mounts the server under a path prefix.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { basename } from 'node:path';
import type { Engine } from '../../engine.js';
import { packageVersion } from '../../config.js';
import type { Exchange, Headers } from '../exchange.js';
import type { RouteContext } from '../admission.js';
import { buildOpenApi } from '../api/openapi.js';
import { OPEN_PATHS } from '../auth.js';

const documents = new WeakMap<Engine, Buffer>();

export function openapiRoute(ctx: RouteContext, ex: Exchange): void {
  const engine = ctx.engine;
  if (!engine) {
    ex.sendError(503, 'unhealthy', 'the model is loading');
    return;
  }
  let doc = documents.get(engine);
  if (!doc) {
    const i = engine.info;
    doc = Buffer.from(JSON.stringify(buildOpenApi({
      task: engine.task, architecture: i.architecture, modelId: basename(i.modelDir), version: packageVersion(),
      labels: i.taskInfo.labels ?? [], maskToken: engine.tokenizer.info.specialTokens.mask ?? '[MASK]',
      maxClientBatchSize: ctx.config.maxClientBatchSize, auth: ctx.apiKeyRequired, openPaths: OPEN_PATHS,
    })));
    documents.set(engine, doc);
  }
  ex.sendJson(200, doc);
}

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>bert-serve API</title><link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="docs/swagger-ui-bundle.js"></script><script src="docs/init.js"></script></body>
</html>
`;
const INIT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });\n`;

const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const CACHE = 'public, max-age=3600';

interface Asset { body: () => Buffer; headers: Headers }

function file(name: string, type: string): Asset {
  let bytes: Buffer | undefined;
  // Read on first request (the bundle is 1.5 MB), then kept.
  return { body: () => (bytes ??= readFileSync(join(dist, name))), headers: [['Content-Type', type], ['Cache-Control', CACHE]] };
}
function text(s: string, type: string): Asset {
  const bytes = Buffer.from(s);
  return { body: () => bytes, headers: [['Content-Type', type], ['Cache-Control', 'no-cache']] };
}

/** The page and its assets, by path. */
export const DOCS_ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/docs', text(PAGE, 'text/html; charset=utf-8')],
  ['/docs/init.js', text(INIT, 'text/javascript; charset=utf-8')],
  ['/docs/swagger-ui.css', file('swagger-ui.css', 'text/css; charset=utf-8')],
  ['/docs/swagger-ui-bundle.js', file('swagger-ui-bundle.js', 'text/javascript; charset=utf-8')],
]);

export function docsRoute(_ctx: RouteContext, ex: Exchange): void {
  const asset = DOCS_ASSETS.get(ex.url)!;
  ex.send(200, asset.body(), asset.headers);
}
