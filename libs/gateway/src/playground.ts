import type { NestExpressApplication } from '@nestjs/platform-express';
import { playgroundDir } from '@ivl/playground';
import type { GatewayLogger } from './config';

/**
 * The web playground at /playground: static files built by `npm run build`. Its content security policy allows
 * nothing but this origin (no CDN, no inline script), so even markup that got past the sanitizer cannot run script
 * or send data elsewhere. The page holds no key: the user types theirs and it goes with each API call.
 */
export function servePlayground(app: NestExpressApplication, log: GatewayLogger): void {
  const dir = playgroundDir(__dirname);
  if (!dir) {
    log.warn('the playground is not built (run npm run build); /playground will answer 404');
    return;
  }
  app.useStaticAssets(dir, {
    prefix: '/playground',
    index: 'index.html',
    setHeaders: (res) => {
      res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', 'no-cache');
    },
  });
}
