#!/usr/bin/env node
// bert-serve command line: parse flags and environment (config.ts), pick the HTTP transport
// (server/transport/select.ts), listen, load the model, report ready, and drain on SIGTERM/SIGINT
// (server/shutdown.ts).
// Exit codes: 0 after a clean drain, 1 when startup fails or a drain gives up, 2 for usage errors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, packageRoot, parseCli, packageVersion, renderHelp, renderMarkdownTable } from './config.js';
import { Logger } from './logger.js';
import { toBertServeError } from './errors.js';
import { Server } from './server/server.js';
import { handleSignals } from './server/shutdown.js';

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCli(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`bert-serve: ${e.message}\nRun bert-serve --help for the options.\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  switch (parsed.action) {
    case 'serve':
      break;
    case 'help':
      process.stdout.write(parsed.format === 'markdown' ? renderMarkdownTable() : renderHelp());
      return;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return;
    case 'print-config': {
      const { sources: _s, ...config } = parsed.config;
      // The key itself never goes to stdout (CI logs, support tickets): only whether one is set.
      if (config.apiKey !== '') config.apiKey = '<redacted>';
      process.stdout.write(JSON.stringify({ ...config, sources: parsed.config.sources }, null, 2) + '\n');
      return;
    }
  }

  const config = parsed.config;
  const logger = new Logger({ level: config.logLevel, format: config.logFormat });
  logger.info('starting bert-serve', { version: packageVersion(), node: process.version, pid: process.pid });
  if (config.modelIsDefault) {
    logger.info(`no --model given: serving the demo model at ${config.model}`);
    if (!existsSync(config.model)) {
      // In a clone `npm run setup` makes it; an installed package ships the script that makes it.
      const maker = join(packageRoot, 'scripts', 'make_demo_model.py');
      const inClone = existsSync(join(packageRoot, 'scripts', 'setup.sh'));
      logger.error(
        `the demo model is missing at ${config.model}; pass --model DIR, or make it with ` +
          (inClone ? '`npm run setup` (or ' : '(') +
          `/usr/bin/python3 ${maker} ${config.model}; python3-torch needed)`,
      );
      process.exit(1);
    }
  }

  let server: Server;
  try {
    server = new Server({ ...config, logger });
  } catch (e) {
    logger.error(`startup failed: ${(e as Error).message}`, { code: (e as { code?: string }).code });
    process.exit(1);
  }
  handleSignals({ logger, shutdown: () => server.close(), forceStop: () => server.forceStop() });

  try {
    await server.listen();
  } catch (e) {
    logger.error(`startup failed: ${(e as Error).message}`, { code: (e as { code?: string }).code });
    process.exit(1);
  }
  try {
    await server.load();
  } catch (e) {
    const err = toBertServeError(e);
    // With several models the message names the one that failed.
    const several = config.models.length > 1 || config.modelRepository !== '';
    logger.error(
      `the model failed to load: [${err.code}] ${err.message}`,
      several ? { code: err.code } : { model: config.model, code: err.code },
    );
    process.exit(1);
  }
}

process.on('unhandledRejection', (e) => {
  process.stderr.write(`bert-serve: unhandled rejection (a bug): ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`bert-serve: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
