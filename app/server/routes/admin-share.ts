/**
 * `GET /api/admin/share`: the addresses LAN viewers can open, for the console's Share page and its QR code.
 */
import { networkInterfaces } from 'node:os';
import { Router } from 'express';
import type { ShareWire } from '../../contract/wire.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';

/** The viewer's URLs on every non-internal IPv4 address of this machine, or on the one host it listens on. */
export function lanUrls(host: string, port: number): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [`http://${host.includes(':') ? `[${host}]` : host}:${port}/`];
  const urls: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) urls.push(`http://${a.address}:${port}/`);
  }
  return urls;
}

/** The share route; mount behind the API-wide guard. */
export function adminShareRoutes(listenHost: string): Router {
  const r = Router();
  r.route('/api/admin/share')
    .get(requireAdmin, (req, res) => {
      res.json({ urls: lanUrls(listenHost, req.socket.localPort ?? 0) } satisfies ShareWire);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
