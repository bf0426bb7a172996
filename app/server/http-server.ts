/**
 * The listening socket: keep-alive tuned for video players, listen errors turned into one clear line,
 * and a graceful close that lets in-flight responses finish for a short grace period.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config/config.ts';

/** A paused player can sit idle longer than Node's 5 s default; closing its connection costs a reconnect per seek. */
const KEEP_ALIVE_MS = 65_000;

/** Starts listening; rejects with ConfigError naming the setting when the port or host cannot be used. */
export async function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = createServer({ keepAlive: true }, handler);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new ConfigError('--port', `port ${port} is already in use on ${host}`));
      else if (err.code === 'EACCES') reject(new ConfigError('--port', `port ${port} needs privileges this process does not have`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reject(new ConfigError('--host', `${host} is not an address of this machine`));
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  return server;
}

/** The port actually bound (useful with port 0). */
export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, lets in-flight responses run for `graceMs`, then cuts what is left. */
export async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}
