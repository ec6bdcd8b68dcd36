// GET /docs: Swagger UI (swagger-ui-dist, pinned) served from the installed package, no CDN, with
// its assets: four declarations, open without the API key (the page needs the document before the
// user can enter the key in it). The page's own script is a file, not inline, so a
// Content-Security-Policy without 'unsafe-inline' can serve it. URLs are relative, so the page also
// works behind a proxy that mounts the server under a path prefix.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Headers } from '../exchange.js';
import type { StatusRoute } from './route.js';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>bert-serve API</title><link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="docs/swagger-ui-bundle.js"></script><script src="docs/init.js"></script></body>
</html>
`;
const INIT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });\n`;

const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const CACHE = 'public, max-age=3600';

function asset(path: string, body: () => Buffer, headers: Headers, doc?: StatusRoute['doc']): StatusRoute {
  return {
    kind: 'status',
    method: 'GET',
    path,
    open: true,
    perModel: false,
    doc,
    content: doc ? { 'text/html': { type: 'string' } } : undefined,
    handle: (_ctx, ex) => void ex.send(200, body(), headers),
  };
}

function file(path: string, name: string, type: string): StatusRoute {
  let bytes: Buffer | undefined;
  // Read on first request (the bundle is 1.5 MB), then kept.
  return asset(path, () => (bytes ??= readFileSync(join(dist, name))), [
    ['Content-Type', type],
    ['Cache-Control', CACHE],
  ]);
}

function text(path: string, s: string, type: string, doc?: StatusRoute['doc']): StatusRoute {
  const bytes = Buffer.from(s);
  return asset(
    path,
    () => bytes,
    [
      ['Content-Type', type],
      ['Cache-Control', 'no-cache'],
    ],
    doc,
  );
}

export const docsPage: readonly StatusRoute[] = [
  text('/docs', PAGE, 'text/html; charset=utf-8', {
    summary: 'API reference page',
    description: 'This document rendered by Swagger UI (served from the package, no CDN).',
  }),
  text('/docs/init.js', INIT, 'text/javascript; charset=utf-8'),
  file('/docs/swagger-ui.css', 'swagger-ui.css', 'text/css; charset=utf-8'),
  file('/docs/swagger-ui-bundle.js', 'swagger-ui-bundle.js', 'text/javascript; charset=utf-8'),
];
