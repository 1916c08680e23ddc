import type { LoggerService } from '@nestjs/common';
import type { GatewayLogger } from './config';

export const consoleLogger: GatewayLogger = {
  log: (m) => console.log(`${new Date().toISOString()} [gateway] ${m}`),
  warn: (m) => console.warn(`${new Date().toISOString()} [gateway] WARNING ${m}`),
  error: (m) => console.error(`${new Date().toISOString()} [gateway] ERROR ${m}`),
};

export const silentLogger: GatewayLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Nest's own messages (route mapping, bootstrap) go to the same sink; its chatter stays at debug level. */
export function nestLogger(log: GatewayLogger): LoggerService {
  const text = (m: unknown, ctx: unknown[]) => `${ctx.length ? `[${String(ctx[ctx.length - 1])}] ` : ''}${String(m)}`;
  return {
    log: () => undefined,
    warn: (m, ...ctx) => log.warn(text(m, ctx)),
    error: (m, ...ctx) => log.error(text(m, ctx)),
    debug: () => undefined,
    verbose: () => undefined,
  };
}
