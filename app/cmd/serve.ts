/**
 * `npm start`: runs the server headless under plain Node. Bad configuration exits with code 2 and one
 * line naming the setting; SIGINT/SIGTERM close cleanly.
 */
import './threadpool.ts';
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
  // Signals are handled before the banner: a supervisor may send SIGTERM as soon as it sees the URLs.
  const running = server;
  const stop = (signal: string): void => {
    running.log.info({ action: 'shutdown', signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
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
}

function exitConfig(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`wsoptv: ${err.message}\n`);
    process.exit(2);
  }
  // One line, as for configuration errors: the first line of the cause, never a stack or a list of paths.
  const first = String((err as Error | undefined)?.message ?? err).split('\n')[0];
  process.stderr.write(`wsoptv: cannot start: ${first}\n`);
  process.exit(1);
}

await main();
