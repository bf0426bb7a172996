/**
 * `npm start`: runs the server headless under plain Node. Bad configuration exits with code 2 and one
 * line naming the setting; SIGINT/SIGTERM close cleanly.
 */
import { networkInterfaces } from 'node:os';
import { ConfigError, loadConfig, usage, type Config } from '../config/config.ts';
import { startServer } from '../compose.ts';

/** The URLs a viewer can open: localhost and every LAN IPv4 address when listening on all of them. */
export function servedUrls(config: Config, port: number): string[] {
  if (config.host !== '0.0.0.0' && config.host !== '::') return [`http://${config.host}:${port}/`];
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => `http://${a!.address}:${port}/`);
  return [`http://localhost:${port}/`, ...lan];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    exitConfig(err);
  }
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    exitConfig(err);
  }
  const { firstScan } = server;
  process.stdout.write(
    [
      `WSOPTV Stream Server is serving ${firstScan.files} video(s) from ${config.libraryRoot}`,
      ...servedUrls(config, server.port).map((u) => `  ${u}`),
      ...(server.generatedAdminPassword
        ? [
            '',
            'First run: created the admin account. Log in with',
            `  username: admin`,
            `  password: ${server.generatedAdminPassword}`,
            'This password is shown once and not stored in clear; change it with',
            '  npm run users -- passwd admin --password <new password>',
          ]
        : []),
      '',
    ].join('\n'),
  );
  const stop = (signal: string): void => {
    server.log.info({ action: 'shutdown', signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function exitConfig(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`wsoptv: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  process.stderr.write(`wsoptv: cannot start: ${e.message ?? String(err)}\n`);
  process.exit(1);
}

await main();
