/**
 * `npm run users -- <command>`: the operator's account tool, working on the same data folder as the
 * server (flags and environment as in `npm start`). Safe to run while the server runs (SQLite WAL).
 *
 *   add NAME --password P [--role admin|viewer] [--active]
 *   list
 *   approve NAME | enable NAME | disable NAME
 *   role NAME admin|viewer
 *   passwd NAME --password P
 *
 * `disable` and `passwd` go through the auth service like the HTTP routes, so they revoke the user's
 * tokens; a running server sees that on its next request, as it reads the epoch from the same database.
 */
import path from 'node:path';
import { createAuth, type Auth } from '../auth/index.ts';
import { loadOrCreateSecret, TokenSigner } from '../auth/tokens.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { DomainError } from '../model/errors.ts';
import { ROLES, type Role } from '../model/user.ts';
import { openDatabase, secureDataDir } from '../persistence/db.ts';
import { UserStore } from '../persistence/user-store.ts';

const USAGE = `Usage: npm run users -- <command> [server flags such as --data DIR]
  add NAME --password P [--role admin|viewer] [--active]
  list
  approve NAME        enable NAME        disable NAME
  role NAME admin|viewer
  passwd NAME --password P`;

/** Thrown for a command line that does not parse; exits 2 with the message and the usage. */
class UsageError extends Error {}

/** Splits the tool's own words and options from the server flags passed through to the configuration. */
export function splitArgs(argv: readonly string[]): { words: string[]; password?: string; role?: string; active: boolean; serverFlags: string[] } {
  const words: string[] = [];
  const serverFlags: string[] = [];
  let password: string | undefined;
  let role: string | undefined;
  let active = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--password') password = argv[++i];
    else if (a.startsWith('--password=')) password = a.slice('--password='.length);
    else if (a === '--role') role = argv[++i];
    else if (a.startsWith('--role=')) role = a.slice('--role='.length);
    else if (a === '--active') active = true;
    else if (a.startsWith('--')) {
      serverFlags.push(a);
      if (!a.includes('=') && i + 1 < argv.length) serverFlags.push(argv[++i]!);
    } else words.push(a);
  }
  return { words, password, role, active, serverFlags };
}

/** Runs one command and returns what to print. */
export async function runUsersCommand(auth: Auth, args: ReturnType<typeof splitArgs>): Promise<string> {
  const [command, name, extra] = args.words;
  const need = (v: string | undefined, what: string): string => {
    if (v === undefined || v === '') throw new UsageError(`${command ?? 'command'}: ${what} is missing`);
    return v;
  };
  const line = (u: { username: string; role: string; status: string }): string => `${u.username.padEnd(24)} ${u.role.padEnd(7)} ${u.status}`;
  switch (command) {
    case 'add': {
      const role = (args.role ?? 'viewer') as Role;
      if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const u = await auth.createUser({ username: need(name, 'NAME'), password: need(args.password, '--password'), role, status: args.active ? 'active' : 'pending' });
      return `added ${line(u)}`;
    }
    case 'list':
      return ['username                 role    status', ...auth.listUsers().map(line)].join('\n');
    case 'approve':
    case 'enable':
      return `${command}d ${line(auth.updateUser(auth.findUser(need(name, "NAME")).id, { status: "active" }))}`;
    case 'disable':
      return `disabled ${line(auth.updateUser(auth.findUser(need(name, 'NAME')).id, { status: 'disabled' }))}`;
    case 'role': {
      const role = need(extra, 'ROLE') as Role;
      if (!ROLES.includes(role)) throw new UsageError(`ROLE must be one of ${ROLES.join(', ')}`);
      return `changed ${line(auth.updateUser(auth.findUser(need(name, 'NAME')).id, { role }))}`;
    }
    case 'passwd': {
      const u = auth.findUser(need(name, 'NAME'));
      await auth.setPassword(u.id, need(args.password, '--password'));
      return `password changed for ${u.username}`;
    }
    default:
      throw new UsageError(command === undefined ? 'no command given' : `unknown command "${command}"`);
  }
}

async function main(): Promise<number> {
  const args = splitArgs(process.argv.slice(2));
  if (args.words.length === 0 || args.words[0] === 'help' || process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return args.words.length === 0 ? 2 : 0;
  }
  let db;
  try {
    const config = loadConfig(args.serverFlags, process.env);
    // The tool may be the first to open a data folder an older version left readable to everyone.
    secureDataDir(config.dataDir);
    db = openDatabase(path.join(config.dataDir, 'wsoptv.db'));
    const { secret } = loadOrCreateSecret(config.dataDir);
    const auth = createAuth(new UserStore(db), new TokenSigner(secret, config.tokenTtlSeconds), config);
    process.stdout.write(`${await runUsersCommand(auth, args)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`users: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof DomainError) {
      process.stderr.write(`users: ${err.message}\n`);
      return err instanceof ConfigError ? 2 : 1;
    }
    throw err;
  } finally {
    db?.close();
  }
}

process.exitCode = await main();
