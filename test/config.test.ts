/**
 * Configuration: one validated object from flags and environment (a flag wins), and the real CLI's answer
 * to bad settings: exit 2 and one line that names the setting, never a stack trace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, loadConfig, parseFlags, parseIntSetting, PROJECT_ROOT, SETTINGS, usage } from '../app/config/config.ts';
import { tempDir } from './helpers/fixtures.ts';
import { rawRequest } from './helpers/server.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let lib: string;
let data: string;
let aFile: string;

before(async () => {
  tmp = await tempDir();
  lib = path.join(tmp.dir, 'library');
  data = path.join(tmp.dir, 'data');
  aFile = path.join(tmp.dir, 'plain-file');
  await mkdir(lib);
  await writeFile(aFile, 'not a folder');
});
after(() => tmp.cleanup());

/** The required folders, so a test changes only what it is about. */
const base = (): string[] => ['--library', lib, '--data', data];

/** Asserts that `fn` throws a ConfigError naming `setting`, with a one-line message. */
function throwsFor(fn: () => unknown, setting: string, problem?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.setting, setting);
    assert.ok(err.message.startsWith(`${setting}: `), err.message);
    assert.ok(!err.message.includes('\n'), 'the message must be one line');
    if (problem) assert.match(err.message, problem);
    return true;
  });
}

describe('loadConfig defaults', () => {
  it('with nothing set: the bundled samples, ./data, <data>/ssd-cache, port 8000 on all addresses, info logs', async () => {
    const cwd = path.join(tmp.dir, 'cwd-defaults');
    await mkdir(cwd);
    const c = loadConfig([], {}, cwd);
    assert.equal(c.libraryRoot, path.join(PROJECT_ROOT, 'samples'));
    assert.equal(c.dataDir, path.join(cwd, 'data'));
    assert.equal(c.cacheDir, path.join(cwd, 'data', 'ssd-cache'));
    assert.equal(c.port, 8000);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.logLevel, 'info');
    assert.ok(statSync(c.dataDir).isDirectory(), 'the data folder is created');
    assert.ok(statSync(c.cacheDir).isDirectory(), 'the cache folder is created');
    assert.deepEqual(readdirSync(c.dataDir), ['ssd-cache'], 'the write test leaves nothing behind');
  });
  it('relative folders resolve against the working directory', async () => {
    const c = loadConfig(['--library', 'library', '--data', 'data'], {}, tmp.dir);
    assert.equal(c.libraryRoot, lib);
    assert.equal(c.dataDir, data);
  });
  it('an empty environment variable counts as unset', () => {
    const c = loadConfig(base(), { WSOPTV_PORT: '', WSOPTV_HOST: '' });
    assert.equal(c.port, 8000);
    assert.equal(c.host, '0.0.0.0');
  });
});

describe('when a setting is given both as a flag and in the environment', () => {
  it('the environment is read when there is no flag', () => {
    const c = loadConfig(base(), { WSOPTV_PORT: '9100', WSOPTV_HOST: '127.0.0.1', WSOPTV_LOG_LEVEL: 'warn' });
    assert.equal(c.port, 9100);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.logLevel, 'warn');
  });
  it('the flag wins', () => {
    const c = loadConfig([...base(), '--port', '9200', '--log-level', 'debug'], { WSOPTV_PORT: '9100', WSOPTV_LOG_LEVEL: 'warn' });
    assert.equal(c.port, 9200);
    assert.equal(c.logLevel, 'debug');
  });
  it('the flag wins even over a bad environment value, which is then not an error', () => {
    assert.equal(loadConfig([...base(), '--port', '9300'], { WSOPTV_PORT: 'not-a-port' }).port, 9300);
  });
  it('folders come from the environment too', () => {
    const c = loadConfig([], { WSOPTV_LIBRARY: lib, WSOPTV_DATA: data }, tmp.dir);
    assert.equal(c.libraryRoot, lib);
    assert.equal(c.dataDir, data);
  });
});

describe('flag syntax', () => {
  it('--x=value is the same as --x value', () => {
    const a = loadConfig([`--library=${lib}`, `--data=${data}`, '--port=8123', '--host=127.0.0.1'], {});
    assert.equal(a.port, 8123);
    assert.equal(a.host, '127.0.0.1');
    assert.equal(a.libraryRoot, lib);
  });
  it('a value may contain "="', () => {
    assert.equal(parseFlags(['--host=a=b']).get('host'), 'a=b');
  });
  it('an unknown flag is an error naming it', () => throwsFor(() => loadConfig([...base(), '--prot', '80'], {}), '--prot', /unknown option/));
  it('an unknown --x=value flag is named without its value', () => throwsFor(() => parseFlags(['--colour=blue']), '--colour'));
  it('a bare word is an unknown option', () => throwsFor(() => parseFlags(['serve']), 'serve'));
  it('a flag without a value is an error naming it', () => throwsFor(() => loadConfig([...base(), '--port'], {}), '--port', /needs a value/));
  it('an empty value is an error, not a silent default', () => {
    throwsFor(() => loadConfig(['--library', lib, '--data='], {}), '--data', /needs a value/);
    throwsFor(() => loadConfig([...base(), '--port', ''], {}), '--port', /needs a value/);
  });
  it('every setting has a flag and an environment name, and usage lists them all', () => {
    const text = usage();
    for (const s of Object.values(SETTINGS)) {
      assert.match(s.flag, /^--[a-z-]+$/);
      assert.match(s.env, /^WSOPTV_[A-Z_]+$/);
      assert.ok(text.includes(s.flag) && text.includes(s.env), `${s.flag} missing from usage`);
    }
  });
});

describe('when a value is bad, the error names the setting as the operator wrote it', () => {
  it('a port that is not a number (flag)', () => throwsFor(() => loadConfig([...base(), '--port', 'eighty'], {}), '--port', /whole number/));
  it('a port that is not a number (environment)', () => throwsFor(() => loadConfig(base(), { WSOPTV_PORT: '80x' }), 'WSOPTV_PORT'));
  it('a negative port', () => throwsFor(() => loadConfig([...base(), '--port', '-1'], {}), '--port'));
  it('a port above 65535', () => throwsFor(() => loadConfig([...base(), '--port', '65536'], {}), '--port', /outside 0-65535/));
  it('port 0 (any free port) and 65535 are accepted', () => {
    assert.equal(loadConfig([...base(), '--port', '0'], {}).port, 0);
    assert.equal(loadConfig([...base(), '--port', '65535'], {}).port, 65535);
  });
  it('a host with characters no address has', () => throwsFor(() => loadConfig([...base(), '--host', 'my host;rm'], {}), '--host'));
  it('--sendfile is on by default, takes on or off, and names anything else', () => {
    assert.equal(loadConfig(base(), {}).sendfile, true);
    assert.equal(loadConfig([...base(), '--sendfile', 'off'], {}).sendfile, false);
    assert.equal(loadConfig(base(), { WSOPTV_SENDFILE: 'on' }).sendfile, true);
    throwsFor(() => loadConfig([...base(), '--sendfile', 'maybe'], {}), '--sendfile', /not on or off/);
  });
  it('a log level that does not exist', () => throwsFor(() => loadConfig(base(), { WSOPTV_LOG_LEVEL: 'loud' }), 'WSOPTV_LOG_LEVEL', /loud/));
  it('a missing library folder', () => throwsFor(() => loadConfig(['--library', path.join(tmp.dir, 'nope'), '--data', data], {}), '--library', /does not exist/));
  it('a library that is a file', () => throwsFor(() => loadConfig(['--library', aFile, '--data', data], {}), '--library', /not a folder/));
  it('a data folder that cannot be created (under a regular file)', () => {
    throwsFor(() => loadConfig(['--library', lib, '--data', path.join(aFile, 'data')], {}), '--data', /cannot be created/);
  });
  it('a data folder that is a file', () => throwsFor(() => loadConfig(['--library', lib, '--data', aFile], {}), '--data'));
  it('a cache folder that cannot be created', () => {
    throwsFor(() => loadConfig([...base(), '--cache', path.join(aFile, 'cache')], {}), '--cache');
  });
  it('parseIntSetting trims spaces and checks bounds', () => {
    assert.equal(parseIntSetting(' 42 ', 'X', 0, 100), 42);
    throwsFor(() => parseIntSetting('101', 'X', 0, 100), 'X', /outside/);
    throwsFor(() => parseIntSetting('4.5', 'X', 0, 100), 'X', /whole number/);
    throwsFor(() => parseIntSetting('', 'X', 0, 100), 'X');
  });
});

// ---- The real CLI -------------------------------------------------------------------------------------------

interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a CLI run: ours (coverage included) without any WSOPTV_ setting that could leak in. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // NODE_TEST_CONTEXT would make the child talk to the test runner as if it were a test file.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WSOPTV_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return { ...env, WSOPTV_ADMIN_PASSWORD: 'cli-test-password', ...extra };
}

const CLI = ['--import', 'tsx', 'app/cmd/serve.ts'];

/** Runs `npm start` with arguments; resolves when it exits (or is killed after 60 s: a cold tsx compile of the whole server on a busy machine takes a while). */
function runCli(args: string[], extraEnv: Record<string, string> = {}, onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: PROJECT_ROOT, env: cliEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Exit 2, and stderr is one line that names the setting, with no stack trace. */
function assertConfigExit(r: CliResult, setting: string): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const text = r.stderr.trimEnd();
  assert.ok(text.length > 0, 'nothing on stderr');
  assert.ok(!text.includes('\n'), `stderr is more than one line:\n${r.stderr}`);
  assert.ok(text.includes(setting), `stderr does not name ${setting}: ${text}`);
  assert.doesNotMatch(text, /\bat .+:\d+:\d+|node:internal|Error:/, `stderr carries a stack or an error class: ${text}`);
}

// Each run costs a Node start-up with tsx (~1 s): the runs go in parallel.
describe('the real CLI (npm start)', { concurrency: true }, () => {
describe('when given a bad setting (exit 2, one line)', { concurrency: true }, () => {
  it('a missing library folder', async () => {
    assertConfigExit(await runCli(['--library', path.join(tmp.dir, 'no-such-library'), '--data', data]), '--library');
  });
  it('a port that is not a number', async () => {
    assertConfigExit(await runCli([...base(), '--port', 'http']), '--port');
  });
  it('a data folder that is not writable (under a regular file)', async () => {
    assertConfigExit(await runCli(['--library', lib, '--data', path.join(aFile, 'data')]), '--data');
  });
  describe('when the port is in use', () => {
    let blocker: Server;
    before(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    it('exits 2 naming --port', async () => {
      const port = (blocker.address() as AddressInfo).port;
      const dataDir = path.join(tmp.dir, 'data-port-in-use');
      const r = await runCli(['--library', lib, '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'silent']);
      assertConfigExit(r, '--port');
      assert.match(r.stderr, new RegExp(String(port)));
    });
  });
});

describe('when the database on disk is newer than the server', () => {
  it('the CLI refuses to start with one line and a non-zero exit, and leaves the file alone', async () => {
    const dataDir = path.join(tmp.dir, 'data-too-new');
    await mkdir(dataDir);
    const file = path.join(dataDir, 'wsoptv.db');
    const db = new Database(file);
    db.pragma('user_version = 9999');
    db.close();
    const r = await runCli(['--library', lib, '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'silent']);
    assert.notEqual(r.code, 0);
    const text = r.stderr.trimEnd();
    assert.ok(!text.includes('\n'), `stderr is more than one line:\n${r.stderr}`);
    assert.match(text, /9999/);
    assert.doesNotMatch(text, /\bat .+:\d+:\d+/);
    const after = new Database(file, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), 9999);
    after.close();
  });
});

describe('the CLI in normal operation', () => {
  it('--help prints usage with every flag and exits 0 without starting', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage:/);
    for (const s of Object.values(SETTINGS)) assert.ok(r.stdout.includes(s.flag), `${s.flag} missing from --help`);
    assert.equal(r.stderr, '');
  });

  for (const signal of ['SIGTERM'] as const) {
    it(`${signal} on a running server exits 0 after closing the database`, async () => {
      const dataDir = path.join(tmp.dir, `data-${signal}`);
      let sent = false;
      let asked = false;
      const r = await runCli(['--library', lib, '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'silent'], {}, (out, kill) => {
        const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
        if (asked || !url) return;
        asked = true;
        // The signal handlers are installed just after the address is printed; once the server has answered
        // a request, that synchronous start-up code has certainly run (see the report on serve.ts).
        rawRequest(`${url}api/health`).then(
          (res) => {
            assert.equal(res.status, 200);
            sent = true;
            kill(signal);
          },
          () => kill('SIGKILL'),
        );
      });
      assert.ok(sent, `the server never said where it listens; stdout: ${r.stdout} stderr: ${r.stderr}`);
      assert.equal(r.signal, null, 'the process should exit by itself, not die of the signal');
      assert.equal(r.code, 0, `stderr: ${r.stderr}`);
      assert.match(r.stdout, /serving 0 video/);
      // SQLite removes the WAL and shared-memory files when the last connection closes cleanly.
      assert.ok(existsSync(path.join(dataDir, 'wsoptv.db')));
      assert.ok(!existsSync(path.join(dataDir, 'wsoptv.db-wal')), 'the WAL file is still there: the database was not closed');
      assert.ok(!existsSync(path.join(dataDir, 'wsoptv.db-shm')), 'the shm file is still there: the database was not closed');
    });
  }
});
});
