import type { Request } from 'express';
import type { Logger } from '../config/contracts.js';

/**
 * In production, says once, at the first request, that the app does not
 * trust a proxy. Behind one that terminates TLS, Express then takes every
 * request for plain http: req.secure is false, so the mfa_trust cookie goes
 * out without Secure; req.protocol is http, so the API refuses the browser's
 * https Origin; req.ip is the proxy's, for skipNetworks, audit events and
 * the per-address rate limit, which every user behind it then shares: one
 * visitor's flood refuses them all.
 * After the first request it costs one boolean test.
 */
export function trustProxyCheck(logger: Logger, production: boolean): (req: Request) => void {
  let pending = production;
  return (req) => {
    if (!pending) return;
    pending = false;
    if (!req.app.get('trust proxy')) {
      logger.warn("Express's trust proxy setting is off: if TLS ends at a proxy or load balancer, call app.set('trust proxy', …) with its hops or addresses, or the mfa_trust cookie (a trusted browser) is sent without Secure, API writes from browsers are refused as cross-site, and req.ip is the proxy's: every user then shares one rateLimit count.");
    }
  };
}
