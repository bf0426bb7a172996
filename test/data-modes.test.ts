/**
 * The data folder is owner-only (issue 7, defect 8): the folder 0700 and the database, its -wal/-shm
 * and the token secret 0600, for a fresh folder and for one an older version left 0755/0644.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { SECRET_FILE } from '../app/auth/tokens.ts';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { migrate, openDatabase } from '../app/persistence/db.ts';
import { MIGRATIONS } from '../app/persistence/migrations/index.ts';
import { tempDir } from './helpers/fixtures.ts';
import { startTestServer } from './helpers/server.ts';

const run = promisify(execFile);
const modeOf = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
const DB = 'wsoptv.db';

/** Asserts each path's permission bits, printing them in octal when they differ. */
async function assertModes(dir: string, expected: Record<string, number>): Promise<void> {
  for (const [name, mode] of Object.entries(expected)) {
    const p = name === '.' ? dir : path.join(dir, name);
    assert.ok(existsSync(p), `${name} does not exist`);
    const actual = await modeOf(p);
    assert.equal(actual.toString(8), mode.toString(8), `mode of ${name}`);
  }
}

// The usual umask (022) is what made the files 0644 before; set it so the tests mean the same everywhere.
let oldUmask: number;
before(() => {
  oldUmask = process.umask(0o022);
});
after(() => {
  process.umask(oldUmask);
});

describe('when the server starts on a fresh data folder', () => {
  it('the folder is 0700 and the database, its -wal and -shm, and the secret are 0600 while it runs', async () => {
    const ts = await startTestServer();
    try {
      await assertModes(ts.dataDir, { '.': 0o700, [DB]: 0o600, [`${DB}-wal`]: 0o600, [`${DB}-shm`]: 0o600, [SECRET_FILE]: 0o600 });
    } finally {
      await ts.close();
    }
  });
});

describe('when the data folder was left 0755/0644 by an older version', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let dataDir: string;
  let libraryDir: string;
  let oldHandle: Database.Database;
  let outside: string;
  before(async () => {
    tmp = await tempDir();
    dataDir = path.join(tmp.dir, 'data');
    libraryDir = path.join(tmp.dir, 'library');
    await mkdir(dataDir, { mode: 0o755 });
    await mkdir(libraryDir);
    await chmod(dataDir, 0o755);
    // A version-3 database made the old way (no chmod), kept open so its -wal and -shm exist, as they do
    // while another process such as the users CLI holds it.
    oldHandle = new Database(path.join(dataDir, DB));
    oldHandle.pragma('journal_mode = WAL');
    migrate(oldHandle, MIGRATIONS.slice(0, 3));
    await writeFile(path.join(dataDir, SECRET_FILE), 'x'.repeat(64), { mode: 0o644 });
    await mkdir(path.join(dataDir, 'ssd-cache'), { mode: 0o755 });
    await writeFile(path.join(dataDir, 'notes.txt'), 'left by an operator', { mode: 0o644 });
    // A symlink to a file outside: chmod must not follow it out of the folder.
    outside = path.join(tmp.dir, 'outside.txt');
    await writeFile(outside, 'not ours to change', { mode: 0o644 });
    await symlink(outside, path.join(dataDir, 'link-out'));
    await assertModes(dataDir, { '.': 0o755, [DB]: 0o644, [`${DB}-wal`]: 0o644, [`${DB}-shm`]: 0o644, [SECRET_FILE]: 0o644 });
  });
  after(async () => {
    if (oldHandle.open) oldHandle.close();
    await tmp.cleanup();
  });

  it('the server tightens the folder and everything in it at start-up, and leaves a symlink’s target alone', async () => {
    const ts = await startTestServer(undefined, [], { dirs: { dataDir, libraryDir } });
    try {
      await assertModes(dataDir, {
        '.': 0o700,
        [DB]: 0o600,
        [`${DB}-wal`]: 0o600,
        [`${DB}-shm`]: 0o600,
        [SECRET_FILE]: 0o600,
        'ssd-cache': 0o700,
        'notes.txt': 0o600,
      });
      assert.equal(await modeOf(outside), 0o644);
      // The upgraded database still works: the admin logged in and the old handle reads the new schema.
      assert.equal((await ts.request('/api/auth/me')).status, 200);
      assert.equal(oldHandle.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
    } finally {
      await ts.server.close(100);
    }
  });
});

describe('when the users CLI opens a loose data folder first', () => {
  it('it tightens the folder, the database and the secret too', async () => {
    const tmp = await tempDir();
    try {
      const dataDir = path.join(tmp.dir, 'data');
      await mkdir(dataDir, { mode: 0o755 });
      await chmod(dataDir, 0o755);
      const old = new Database(path.join(dataDir, DB));
      migrate(old, MIGRATIONS.slice(0, 3));
      old.close();
      await writeFile(path.join(dataDir, SECRET_FILE), 'y'.repeat(64), { mode: 0o644 });
      await assertModes(dataDir, { '.': 0o755, [DB]: 0o644, [SECRET_FILE]: 0o644 });
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'app/cmd/users.ts', 'add', 'joan', '--password', 'joan-password', '--data', dataDir], { cwd: PROJECT_ROOT });
      assert.match(stdout, /added joan/);
      await assertModes(dataDir, { '.': 0o700, [DB]: 0o600, [SECRET_FILE]: 0o600 });
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('openDatabase on its own', () => {
  it('creates a new database file 0600, and SQLite gives its -wal and -shm the same mode', async () => {
    const tmp = await tempDir();
    try {
      const file = path.join(tmp.dir, 'own.db');
      const db = openDatabase(file);
      try {
        db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
        await assertModes(tmp.dir, { 'own.db': 0o600, 'own.db-wal': 0o600, 'own.db-shm': 0o600 });
      } finally {
        db.close();
      }
    } finally {
      await tmp.cleanup();
    }
  });
});
