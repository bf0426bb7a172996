/**
 * Token revocation (issue 7, defect 5): logout ends the token it is sent with, disabling a user (or
 * changing their password) ends every token issued before, and both hold across a restart and when the
 * users CLI, another process, makes the change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { openDatabase } from '../app/persistence/db.ts';
import { MIGRATIONS } from '../app/persistence/migrations/index.ts';
import { RevokedTokenStore } from '../app/persistence/token-store.ts';
import { UserStore } from '../app/persistence/user-store.ts';
import { tempDir, writeOffsetFile } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);
const oneFile = (lib: string): Promise<void> => writeOffsetFile(path.join(lib, 'clip.mp4'), 1000);

async function viewer(ts: TestServer, name: string): Promise<{ id: string; token: string }> {
  const u = await ts.server.auth.createUser({ username: name, password: `${name}-password`, role: 'viewer', status: 'active' });
  return { id: u.id, token: await ts.login(name, `${name}-password`) };
}

/** The status and error code of /api/auth/me with a Bearer token. */
async function meWith(ts: TestServer, token: string): Promise<[number, string | undefined]> {
  const res = await ts.request('/api/auth/me', { as: token });
  return [res.status, res.status === 200 ? undefined : res.json().error.code];
}

const countRevoked = (dataDir: string): number => {
  const db = new Database(path.join(dataDir, 'wsoptv.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM revoked_tokens').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('when a user logs out', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(oneFile);
  });
  after(() => ts.close());

  it('the Bearer token sent with the logout is refused afterwards, on the API and on the stream', async () => {
    const { token } = await viewer(ts, 'amy');
    const other = await ts.login('amy', 'amy-password');
    assert.deepEqual(await meWith(ts, token), [200, undefined]);
    const out = await ts.request('/api/auth/logout', { method: 'POST', as: token });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /wsoptv_token=; .*Max-Age=0/);
    assert.deepEqual(await meWith(ts, token), [401, 'AUTH_INVALID_TOKEN']);
    const stream = await ts.request(`/api/stream/${ts.idOf('clip.mp4')}`, { headers: { range: 'bytes=0-9' }, as: token });
    assert.equal(stream.status, 401);
    // Only that token: the same user's other login goes on working.
    assert.deepEqual(await meWith(ts, other), [200, undefined]);
  });

  it('the cookie sent with the logout is refused afterwards, as a cookie and as a Bearer token', async () => {
    await viewer(ts, 'ben');
    const login = await ts.request('/api/auth/login', { method: 'POST', body: { username: 'ben', password: 'ben-password' }, as: false });
    const token = login.json().token as string;
    const cookie = `wsoptv_token=${token}`;
    assert.equal((await ts.request('/api/auth/me', { headers: { cookie } })).status, 200);
    // As the viewer page sends it: a same-origin fetch carries the page's Origin (see same-origin.ts).
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', headers: { cookie, origin: ts.url } })).status, 204);
    const res = await ts.request('/api/auth/me', { headers: { cookie } });
    assert.equal(res.status, 401);
    assert.equal(res.json().error.code, 'AUTH_INVALID_TOKEN');
    assert.deepEqual(await meWith(ts, token), [401, 'AUTH_INVALID_TOKEN']);
  });

  it('logout with no token, a garbage token or an already revoked one answers 204 and stores nothing new', async () => {
    const { token } = await viewer(ts, 'cleo');
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', as: token })).status, 204);
    const before = countRevoked(ts.dataDir);
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', as: false })).status, 204);
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', as: 'not.a.jwt' })).status, 204);
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', headers: { cookie: 'wsoptv_token=garbage', origin: ts.url } })).status, 204);
    assert.equal((await ts.request('/api/auth/logout', { method: 'POST', as: token })).status, 204);
    assert.equal(countRevoked(ts.dataDir), before);
  });
});

describe('when a user is disabled and enabled again', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(oneFile);
  });
  after(() => ts.close());

  it('tokens issued before the disable say "disabled" while disabled and are invalid once re-enabled', async () => {
    const { id, token } = await viewer(ts, 'dora');
    assert.deepEqual(await meWith(ts, token), [200, undefined]);
    assert.equal((await ts.request(`/api/admin/users/${id}/disable`, { method: 'POST' })).status, 200);
    assert.deepEqual(await meWith(ts, token), [403, 'AUTH_USER_DISABLED']);
    assert.equal((await ts.request(`/api/admin/users/${id}/enable`, { method: 'POST' })).status, 200);
    assert.deepEqual(await meWith(ts, token), [401, 'AUTH_INVALID_TOKEN']);
    const stream = await ts.request(`/api/stream/${ts.idOf('clip.mp4')}`, { headers: { range: 'bytes=0-9' }, as: token });
    assert.equal(stream.status, 401);
    const fresh = await ts.login('dora', 'dora-password');
    assert.deepEqual(await meWith(ts, fresh), [200, undefined]);
  });

  it('a role change does not revoke (the role is read on every request anyway)', async () => {
    const { id, token } = await viewer(ts, 'eli');
    assert.equal((await ts.request(`/api/admin/users/${id}/role`, { method: 'PUT', body: { role: 'admin' } })).status, 200);
    assert.equal((await ts.request('/api/admin/users', { as: token })).status, 200);
  });

  it('the users CLI revokes as the HTTP route does: disable, enable, and passwd, seen by the running server', async () => {
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'app/cmd/users.ts', ...args, '--data', ts.dataDir, '--library', ts.libraryDir], { cwd: PROJECT_ROOT });
    const { token } = await viewer(ts, 'finn');
    assert.deepEqual(await meWith(ts, token), [200, undefined]); // now in the server's verified-token cache
    await cli('disable', 'finn');
    assert.deepEqual(await meWith(ts, token), [403, 'AUTH_USER_DISABLED']);
    await cli('enable', 'finn');
    assert.deepEqual(await meWith(ts, token), [401, 'AUTH_INVALID_TOKEN']);

    const second = await ts.login('finn', 'finn-password');
    assert.deepEqual(await meWith(ts, second), [200, undefined]);
    await cli('passwd', 'finn', '--password', 'finn-new-password');
    assert.deepEqual(await meWith(ts, second), [401, 'AUTH_INVALID_TOKEN']);
    assert.deepEqual(await meWith(ts, await ts.login('finn', 'finn-new-password')), [200, undefined]);
  });
});

describe('when the server restarts', () => {
  it('a logged-out token and tokens from before a disable stay refused; others still work', async () => {
    const first = await startTestServer(oneFile);
    const dirs = { libraryDir: first.libraryDir, dataDir: first.dataDir };
    const gus = await viewer(first, 'gus');
    const kept = await first.login('gus', 'gus-password');
    const hal = await viewer(first, 'hal');
    assert.equal((await first.request('/api/auth/logout', { method: 'POST', as: gus.token })).status, 204);
    assert.equal((await first.request(`/api/admin/users/${hal.id}/disable`, { method: 'POST' })).status, 200);
    await first.server.close(100);
    const second = await startTestServer(undefined, [], { dirs });
    try {
      assert.deepEqual(await meWith(second, gus.token), [401, 'AUTH_INVALID_TOKEN']);
      assert.deepEqual(await meWith(second, kept), [200, undefined]);
      assert.equal((await second.request(`/api/admin/users/${hal.id}/enable`, { method: 'POST' })).status, 200);
      assert.deepEqual(await meWith(second, hal.token), [401, 'AUTH_INVALID_TOKEN']);
    } finally {
      await second.close();
      await rm(path.dirname(dirs.dataDir), { recursive: true, force: true });
    }
  });
});

describe('the revoked_tokens table (RevokedTokenStore)', () => {
  it('keeps a revoked id until its expiry and prunes expired rows on the next revoke', async () => {
    const tmp = await tempDir();
    const db = openDatabase(path.join(tmp.dir, 'revoked.db'));
    try {
      const store = new RevokedTokenStore(db);
      store.revoke('old', 1_000, 900);
      store.revoke('new', 5_000, 900);
      assert.equal(store.isRevoked('old'), true);
      assert.equal(store.isRevoked('new'), true);
      assert.equal(store.isRevoked('never'), false);
      store.revoke('newer', 6_000, 1_000); // 'old' expired at 1000: no token it names can pass any more
      assert.equal(store.isRevoked('old'), false);
      assert.equal(store.isRevoked('new'), true);
      store.revoke('new', 5_000, 1_000); // twice is fine
      assert.equal(store.prune(5_500), 1);
      assert.equal(store.isRevoked('new'), false);
      assert.equal(store.isRevoked('newer'), true);
    } finally {
      db.close();
      await tmp.cleanup();
    }
  });
});

describe('what a token check reads per request (UserStore.forToken)', () => {
  it('gives the user and whether the token id is revoked in one answer, and nothing for an unknown user', async () => {
    const tmp = await tempDir();
    const db = openDatabase(path.join(tmp.dir, 'for-token.db'));
    try {
      const users = new UserStore(db);
      assert.equal(users.insert({ id: 'u_a', username: 'Ann', passwordHash: 'scrypt$x', role: 'viewer', status: 'active' }), true);
      const fresh = users.forToken('u_a', 'jti-a');
      assert.equal(fresh?.user.username, 'Ann');
      assert.equal(fresh?.user.tokenEpoch, 0);
      assert.equal(fresh?.revoked, false);
      users.revokedTokens.revoke('jti-a', Math.floor(Date.now() / 1000) + 60);
      assert.equal(users.forToken('u_a', 'jti-a')?.revoked, true);
      assert.equal(users.forToken('u_a', 'jti-b')?.revoked, false, 'another token of the same user is not revoked');
      assert.equal(users.forToken('u_nobody', 'jti-a'), undefined);
      assert.equal(users.update('u_a', { status: 'disabled', revokeTokens: true }), 'ok');
      const disabled = users.forToken('u_a', 'jti-b');
      assert.equal(disabled?.user.status, 'disabled');
      assert.equal(disabled?.user.tokenEpoch, 1);
    } finally {
      db.close();
      await tmp.cleanup();
    }
  });
});

describe('schema migration 4 (token revocation)', () => {
  it('a database at version 3 with users upgrades: users keep their rows at epoch 0, revoked_tokens exists', async () => {
    const tmp = await tempDir();
    try {
      const file = path.join(tmp.dir, 'v3.db');
      const v3 = openDatabase(file, MIGRATIONS.slice(0, 3));
      assert.equal(v3.pragma('user_version', { simple: true }), 3);
      v3.prepare(`INSERT INTO users (id, username, username_key, password_hash, role, status, created_at, updated_at)
        VALUES ('u_old', 'Old', 'old', 'scrypt$x', 'viewer', 'disabled', '2025-01-01', '2025-01-01')`).run();
      v3.close();

      const db = openDatabase(file, MIGRATIONS.slice(0, 4));
      try {
        assert.equal(db.pragma('user_version', { simple: true }), 4);
        const users = new UserStore(db);
        const old = users.get('u_old');
        assert.equal(old?.username, 'Old');
        assert.equal(old?.status, 'disabled');
        assert.equal(old?.tokenEpoch, 0);
        assert.equal(users.update('u_old', { status: 'disabled', revokeTokens: true }), 'ok');
        assert.equal(users.get('u_old')?.tokenEpoch, 1);
        assert.equal(users.setPasswordHash('u_old', 'scrypt$y', true), true);
        assert.equal(users.get('u_old')?.tokenEpoch, 2);
        users.revokedTokens.revoke('jti-1', Math.floor(Date.now() / 1000) + 60);
        assert.equal(users.revokedTokens.isRevoked('jti-1'), true);
      } finally {
        db.close();
      }
    } finally {
      await tmp.cleanup();
    }
  });
});
