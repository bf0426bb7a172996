import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { SECRET_FILE } from '../app/auth/tokens.ts';
import { writeOffsetFile, offsetBytes } from './helpers/fixtures.ts';
import { startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);

async function secretOf(ts: TestServer): Promise<Uint8Array> {
  return new TextEncoder().encode((await readFile(path.join(ts.dataDir, SECRET_FILE), 'utf8')).trim());
}

async function register(ts: TestServer, username: string, password: string): Promise<string> {
  const res = await ts.request('/api/auth/register', { method: 'POST', body: { username, password }, as: false });
  assert.equal(res.status, 201, res.body.toString());
  return res.json().user.id as string;
}

describe('when a new viewer signs up and is approved', () => {
  let ts: TestServer;
  let id: string;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'clip.mp4'), 5000));
  });
  after(() => ts.close());

  it('registers as a pending viewer', async () => {
    id = await register(ts, 'Viewer.One', 'correct horse');
    const me = ts.server.auth.findUser('viewer.one');
    assert.equal(me.status, 'pending');
    assert.equal(me.role, 'viewer');
  });

  it('a second account with the same name in another case is refused with 409', async () => {
    const res = await ts.request('/api/auth/register', { method: 'POST', body: { username: 'viewer.ONE', password: 'another pass' }, as: false });
    assert.equal(res.status, 409);
    assert.equal(res.json().error.code, 'AUTH_USERNAME_TAKEN');
  });

  it('rejects bad usernames and passwords with 400 and creates nothing', async () => {
    const before = ts.server.auth.listUsers().length;
    for (const body of [{ username: 'a', password: 'long enough' }, { username: 'x/../y', password: 'long enough' }, { username: 'okname', password: 'short' }, { username: 42, password: 'long enough' }]) {
      const res = await ts.request('/api/auth/register', { method: 'POST', body, as: false });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal(ts.server.auth.listUsers().length, before);
  });

  it('cannot log in while pending: 403 AUTH_USER_PENDING', async () => {
    const res = await ts.request('/api/auth/login', { method: 'POST', body: { username: 'viewer.one', password: 'correct horse' }, as: false });
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'AUTH_USER_PENDING');
  });

  it('after approval logs in and streams with the Bearer header', async () => {
    const ok = await ts.request(`/api/admin/users/${id}/approve`, { method: 'POST' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().user.status, 'active');
    const token = await ts.login('VIEWER.ONE', 'correct horse');
    const res = await ts.request(`/api/stream/${ts.idOf('clip.mp4')}`, { headers: { range: 'bytes=10-19' }, as: token });
    assert.equal(res.status, 206);
    assert.deepEqual(res.body, offsetBytes(10, 19));
  });

  it('streams with the login cookie alone', async () => {
    const login = await ts.request('/api/auth/login', { method: 'POST', body: { username: 'viewer.one', password: 'correct horse' }, as: false });
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /wsoptv_token=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    const cookie = setCookie.split(';')[0]!;
    const res = await ts.request(`/api/stream/${ts.idOf('clip.mp4')}`, { headers: { range: 'bytes=0-9', cookie } });
    assert.equal(res.status, 206);
    assert.deepEqual(res.body, offsetBytes(0, 9));
    const me = await ts.request('/api/auth/me', { headers: { cookie } });
    assert.equal(me.json().user.username, 'Viewer.One');
  });

  it('logout clears the cookie', async () => {
    const res = await ts.request('/api/auth/logout', { method: 'POST', as: false });
    assert.equal(res.status, 204);
    assert.match(String(res.headers['set-cookie']), /wsoptv_token=; .*Max-Age=0/);
  });

  it('a viewer on /api/admin/* gets 403', async () => {
    const token = await ts.login('viewer.one', 'correct horse');
    const res = await ts.request('/api/admin/users', { as: token });
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'AUTH_FORBIDDEN');
  });

  it('a disabled user’s live token is refused on the next request', async () => {
    const token = await ts.login('viewer.one', 'correct horse');
    assert.equal((await ts.request('/api/auth/me', { as: token })).status, 200);
    assert.equal((await ts.request(`/api/admin/users/${id}/disable`, { method: 'POST' })).status, 200);
    const res = await ts.request(`/api/stream/${ts.idOf('clip.mp4')}`, { as: token });
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'AUTH_USER_DISABLED');
    const login = await ts.request('/api/auth/login', { method: 'POST', body: { username: 'viewer.one', password: 'correct horse' }, as: false });
    assert.equal(login.status, 403);
    // Re-enabling does not bring the tokens issued before the disable back; a new login works.
    assert.equal((await ts.request(`/api/admin/users/${id}/enable`, { method: 'POST' })).status, 200);
    const stale = await ts.request('/api/auth/me', { as: token });
    assert.equal(stale.status, 401);
    assert.equal(stale.json().error.code, 'AUTH_INVALID_TOKEN');
    assert.equal((await ts.request('/api/auth/me', { as: await ts.login('viewer.one', 'correct horse') })).status, 200);
  });
});

describe('when a request carries a bad or no token', () => {
  let ts: TestServer;
  let adminId: string;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'clip.mp4'), 100));
    adminId = ts.server.auth.findUser('admin').id;
  });
  after(() => ts.close());

  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = (): number => Math.floor(Date.now() / 1000);
  /** A token with every claim ours carry (a token id and the user's epoch, 0 for a new user), so each case below differs by one flaw. */
  const jwt = (): SignJWT => new SignJWT({ epoch: 0 }).setJti(`t${Math.random().toString(36).slice(2)}`);

  const cases: [string, (ts: TestServer) => Promise<Record<string, string>>][] = [
    ['no credentials at all', async () => ({})],
    ['a garbage Bearer token', async () => ({ authorization: 'Bearer not.a.jwt' })],
    ['a Bearer header with no token', async () => ({ authorization: 'Bearer' })],
    ['a Basic header', async () => ({ authorization: 'Basic YWRtaW46eA==' })],
    ['a garbage cookie', async () => ({ cookie: 'wsoptv_token=garbage' })],
    ['an expired token', async (ts) => ({
      authorization: `Bearer ${await jwt().setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setIssuedAt(now() - 7200).setExpirationTime(now() - 3600).sign(await secretOf(ts))}`,
    })],
    ['an alg:none token', async () => ({ authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: adminId, iss: 'wsoptv', exp: now() + 3600, jti: 'none1', epoch: 0 })}.` })],
    ['a token signed with another secret', async () => ({
      authorization: `Bearer ${await jwt().setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(new TextEncoder().encode('another-secret-that-is-long-enough-0123456789'))}`,
    })],
    ['a token signed with our secret but HS512', async (ts) => ({
      authorization: `Bearer ${await jwt().setProtectedHeader({ alg: 'HS512' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts))}`,
    })],
    ['a valid signature for a user that does not exist', async (ts) => ({
      authorization: `Bearer ${await jwt().setProtectedHeader({ alg: 'HS256' }).setSubject('u_nobody').setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts))}`,
    })],
    ['our token without a token id (as made before logout could revoke one)', async (ts) => ({
      authorization: `Bearer ${await new SignJWT({ epoch: 0 }).setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts))}`,
    })],
    ['our token without an epoch', async (ts) => ({
      authorization: `Bearer ${await new SignJWT({}).setJti('noepoch').setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts))}`,
    })],
    ['our token with another epoch than the user’s', async (ts) => ({
      authorization: `Bearer ${await new SignJWT({ epoch: 1 }).setJti('epoch1').setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts))}`,
    })],
  ];
  for (const [name, headersFor] of cases) {
    it(`${name} → 401 AUTH_INVALID_TOKEN on the stream and on the API`, async () => {
      const headers = await headersFor(ts);
      for (const p of [`/api/stream/${ts.idOf('clip.mp4')}`, '/api/contents', '/api/auth/me']) {
        const res = await ts.request(p, { headers, as: false });
        assert.equal(res.status, 401, `${p}: ${res.body.toString()}`);
        assert.equal(res.json().error.code, 'AUTH_INVALID_TOKEN');
      }
    });
  }

  it('our own HS256 token with the same claims is accepted (the cases above fail for their flaw alone)', async () => {
    const token = await jwt().setProtectedHeader({ alg: 'HS256' }).setSubject(adminId).setIssuer('wsoptv').setExpirationTime(now() + 3600).sign(await secretOf(ts));
    assert.equal((await ts.request('/api/auth/me', { as: token })).status, 200);
  });

  it('a bad Bearer header is refused even when a good cookie comes too', async () => {
    const res = await ts.request('/api/auth/me', { headers: { authorization: 'Bearer nope', cookie: `wsoptv_token=${ts.adminToken}` } });
    assert.equal(res.status, 401);
  });

  it('health, login and register stay open', async () => {
    assert.equal((await ts.request('/api/health', { as: false })).status, 200);
  });
});

describe('when logins keep failing', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(undefined, ['--login-window', '1s', '--login-max-failures', '5']);
  });
  after(() => ts.close());

  const attempt = (username: string, password: string) =>
    ts.request('/api/auth/login', { method: 'POST', body: { username, password }, as: false });

  it('5 bad passwords → the next login gets 429 with Retry-After, even with the right password', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await attempt('admin', 'wrong password');
      assert.equal(res.status, 401);
      assert.equal(res.json().error.code, 'AUTH_INVALID_CREDENTIALS');
    }
    const blocked = await attempt('admin', TEST_ADMIN_PASSWORD);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.json().error.code, 'AUTH_TOO_MANY_ATTEMPTS');
    assert.equal(blocked.json().error.details.scope, 'username-address');
    const retry = Number(blocked.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 1, `Retry-After ${retry}`);
  });

  it('login works again once the window has passed', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const res = await attempt('admin', TEST_ADMIN_PASSWORD);
    assert.equal(res.status, 200);
    assert.ok(res.json().token);
  });

  it('failures from one address are counted across usernames (4 × the limit)', async () => {
    // Its own server: twenty scrypt checks take longer than the 1 s window above.
    const wide = await startTestServer(undefined, ['--login-window', '1m', '--login-max-failures', '2']);
    try {
      for (let i = 0; i < 8; i++) {
        const res = await wide.request('/api/auth/login', { method: 'POST', body: { username: `nobody${i}`, password: 'whatever1' }, as: false });
        assert.equal(res.status, 401, `attempt ${i}`);
      }
      const res = await wide.request('/api/auth/login', { method: 'POST', body: { username: 'someone-else', password: 'whatever1' }, as: false });
      assert.equal(res.status, 429);
      assert.equal(res.json().error.details.scope, 'address');
    } finally {
      await wide.close();
    }
  });
});

describe('when an admin manages users', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(() => ts.close());

  it('the last active admin cannot be disabled or demoted', async () => {
    const admin = ts.server.auth.findUser('admin');
    const dis = await ts.request(`/api/admin/users/${admin.id}/disable`, { method: 'POST' });
    assert.equal(dis.status, 409);
    assert.equal(dis.json().error.code, 'AUTH_LAST_ADMIN');
    const demote = await ts.request(`/api/admin/users/${admin.id}/role`, { method: 'PUT', body: { role: 'viewer' } });
    assert.equal(demote.status, 409);
    assert.equal(ts.server.auth.findUser('admin').status, 'active');
    assert.equal(ts.server.auth.findUser('admin').role, 'admin');
  });

  it('with a second admin, the first can be demoted', async () => {
    const created = await ts.request('/api/admin/users', { method: 'POST', body: { username: 'second', password: 'second admin pw', role: 'admin' } });
    assert.equal(created.status, 201);
    const admin = ts.server.auth.findUser('admin');
    const demote = await ts.request(`/api/admin/users/${admin.id}/role`, { method: 'PUT', body: { role: 'viewer' } });
    assert.equal(demote.status, 200);
    assert.equal(demote.json().user.role, 'viewer');
    // The demoted admin's token now lacks the role.
    assert.equal((await ts.request('/api/admin/users')).status, 403);
  });

  it('lists users without hashes; unknown users are 404; bad roles 400', async () => {
    const token = await ts.login('second', 'second admin pw');
    const list = await ts.request('/api/admin/users', { as: token });
    assert.equal(list.status, 200);
    assert.ok(list.json().items.length >= 2);
    assert.doesNotMatch(list.body.toString(), /scrypt|hash/i);
    assert.equal((await ts.request('/api/admin/users/u_missing/approve', { method: 'POST', as: token })).status, 404);
    const bad = await ts.request(`/api/admin/users/${ts.server.auth.findUser('admin').id}/role`, { method: 'PUT', body: { role: 'root' }, as: token });
    assert.equal(bad.status, 400);
  });
});

describe('when secrets are at rest', () => {
  it('the database file holds no password in clear and the secret file is 0600', async () => {
    const ts = await startTestServer();
    try {
      await register(ts, 'plainuser', 'very-distinctive-password-42');
      await ts.server.close(100); // flush the WAL into the main file
      const dbBytes = Buffer.concat([await readFile(path.join(ts.dataDir, 'wsoptv.db')), await readFile(path.join(ts.dataDir, 'wsoptv.db-wal')).catch(() => Buffer.alloc(0))]);
      assert.equal(dbBytes.includes('very-distinctive-password-42'), false);
      assert.equal(dbBytes.includes(TEST_ADMIN_PASSWORD), false);
      assert.ok(dbBytes.includes('scrypt$'), 'hashes are stored');
      const mode = (await stat(path.join(ts.dataDir, SECRET_FILE))).mode & 0o777;
      assert.equal(mode, 0o600);
    } finally {
      await ts.close();
    }
  });
});

describe('when every response goes out', () => {
  it('carries security headers, and CORS only for configured origins', async () => {
    const ts = await startTestServer(undefined, ['--cors-origin', 'http://console.lan:3000']);
    try {
      const res = await ts.request('/api/health', { headers: { origin: 'http://evil.example' } });
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const ok = await ts.request('/api/contents', { method: 'OPTIONS', headers: { origin: 'http://console.lan:3000' } });
      assert.equal(ok.status, 204);
      assert.equal(ok.headers['access-control-allow-origin'], 'http://console.lan:3000');
    } finally {
      await ts.close();
    }
  });
});

describe('when the operator uses the users CLI', () => {
  it('adds, lists, approves and disables on the server’s data folder', async () => {
    const ts = await startTestServer();
    try {
      const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'app/cmd/users.ts', ...args, '--data', ts.dataDir, '--library', ts.libraryDir], { cwd: PROJECT_ROOT });
      assert.match((await cli('add', 'carol', '--password', 'carol-password')).stdout, /carol\s+viewer\s+pending/);
      assert.match((await cli('list')).stdout, /admin\s+admin\s+active[\s\S]*carol\s+viewer\s+pending/);
      // The running server sees the CLI's change at once (same database).
      const pending = await ts.request('/api/auth/login', { method: 'POST', body: { username: 'carol', password: 'carol-password' }, as: false });
      assert.equal(pending.status, 403);
      assert.match((await cli('approve', 'carol')).stdout, /carol\s+viewer\s+active/);
      assert.ok(await ts.login('carol', 'carol-password'));
      assert.match((await cli('disable', 'carol')).stdout, /disabled carol/);
      await assert.rejects(cli('disable', 'admin'), (err: { code: number; stderr: string }) => err.code === 1 && /last active admin/.test(err.stderr));
      await assert.rejects(cli('frobnicate'), (err: { code: number; stderr: string }) => err.code === 2 && /unknown command/.test(err.stderr));
      assert.match((await cli('add', 'dave', '--password', 'dave-password', '--role', 'admin', '--active')).stdout, /dave\s+admin\s+active/);
      assert.match((await cli('passwd', 'dave', '--password', 'new-dave-pass')).stdout, /password changed/);
      assert.ok(await ts.login('dave', 'new-dave-pass'));
    } finally {
      await ts.close();
    }
  });
});
