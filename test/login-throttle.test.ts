/**
 * Login throttling (issue 7, defect 6): failures count per username-and-address, with a looser cap per
 * username (from which an address the user logged in from is exempt) and one per address across
 * usernames; a success clears the pair and the address. A stranger cannot lock the admin out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { LoginThrottled } from '../app/model/errors.ts';
import { ADDRESS_CAP_FACTOR, KNOWN_ADDRESS_MS, LoginThrottle, normalizeAddress, USERNAME_CAP_FACTOR } from '../app/auth/throttle.ts';
import { startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from './helpers/server.ts';

const MAX = 3;
const WINDOW_MS = 15 * 60 * 1000;

/** A throttle on a clock the test moves. */
function throttle(): { t: LoginThrottle; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { t: new LoginThrottle(MAX, WINDOW_MS, () => now), advance: (ms) => (now += ms) };
}

/** The LoginThrottled that `check` throws, or undefined when it lets the attempt through. */
function refusal(t: LoginThrottle, username: string, address: string): LoginThrottled | undefined {
  try {
    t.check(username, address);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof LoginThrottled, String(err));
    return err;
  }
}

describe('the login throttle with a driven clock', () => {
  it('the pair limit: MAX failures for one username from one address stop that pair only', () => {
    const { t } = throttle();
    for (let i = 0; i < MAX; i++) {
      assert.equal(refusal(t, 'admin', '10.0.0.9'), undefined, `attempt ${i}`);
      t.failed('admin', '10.0.0.9');
    }
    const r = refusal(t, 'ADMIN', '10.0.0.9');
    assert.equal(r?.scope, 'username-address');
    assert.equal(r?.retryAfterSeconds, WINDOW_MS / 1000);
    assert.equal(refusal(t, 'admin', '10.0.0.1'), undefined, 'the same username from another address');
    assert.equal(refusal(t, 'bob', '10.0.0.9'), undefined, 'another username from the same address');
  });

  it('Retry-After counts down from the oldest failure that counts, and the pair is free once the window passes', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < MAX; i++) {
      t.failed('admin', '10.0.0.9');
      advance(60_000);
    }
    // Failures at 0, 1, 2 min; now 3 min: the first one leaves the window at 15 min.
    assert.equal(refusal(t, 'admin', '10.0.0.9')?.retryAfterSeconds, 12 * 60);
    advance(12 * 60_000);
    assert.equal(refusal(t, 'admin', '10.0.0.9'), undefined);
  });

  it('the address cap: ADDRESS_CAP_FACTOR × MAX failures across usernames stop that address for every username', () => {
    const { t } = throttle();
    for (let i = 0; i < MAX * ADDRESS_CAP_FACTOR; i++) {
      assert.equal(refusal(t, `user${i}`, '10.0.0.9'), undefined, `attempt ${i}`);
      t.failed(`user${i}`, '10.0.0.9');
    }
    assert.equal(refusal(t, 'someone-new', '10.0.0.9')?.scope, 'address');
    assert.equal(refusal(t, 'someone-new', '10.0.0.8'), undefined);
  });

  it('the username cap: failures spread over many addresses stop new addresses, but not one the user logged in from', () => {
    const { t } = throttle();
    t.succeeded('admin', '10.0.0.1'); // the admin's own machine
    const strangers = USERNAME_CAP_FACTOR; // each stays under the pair limit…
    for (let a = 0; a < strangers; a++) {
      for (let i = 0; i < MAX; i++) t.failed('admin', `10.9.0.${a}`);
    }
    // …but together they reach MAX × USERNAME_CAP_FACTOR for the username.
    assert.equal(refusal(t, 'admin', '10.0.0.200')?.scope, 'username');
    assert.equal(refusal(t, 'admin', '10.0.0.1'), undefined, 'the real admin is not locked out of their own machine');
    assert.equal(refusal(t, 'other', '10.0.0.200'), undefined, 'other usernames are not affected');
  });

  it('one failure short of the username cap lets a new address through', () => {
    const { t } = throttle();
    for (let i = 0; i < MAX * USERNAME_CAP_FACTOR - 1; i++) t.failed('admin', `10.9.${Math.floor(i / MAX)}.${i % MAX}`);
    assert.equal(refusal(t, 'admin', '10.0.0.200'), undefined);
  });

  it('a known address is exempt only for KNOWN_ADDRESS_MS after its last success', () => {
    const { t, advance } = throttle();
    t.succeeded('admin', '10.0.0.1');
    advance(KNOWN_ADDRESS_MS);
    for (let i = 0; i < MAX * USERNAME_CAP_FACTOR; i++) t.failed('admin', `10.9.${Math.floor(i / MAX)}.${i % MAX}`);
    assert.equal(refusal(t, 'admin', '10.0.0.1')?.scope, 'username');
  });

  it('a success clears the pair and the address, not the username', () => {
    const { t } = throttle();
    for (let i = 0; i < MAX - 1; i++) t.failed('admin', '10.0.0.1');
    for (let i = 0; i < MAX * ADDRESS_CAP_FACTOR - MAX; i++) t.failed(`spray${i}`, '10.0.0.1');
    t.succeeded('admin', '10.0.0.1');
    // Without the reset, one more failure would hit the pair limit and the address cap.
    t.failed('admin', '10.0.0.1');
    assert.equal(refusal(t, 'admin', '10.0.0.1'), undefined);
    assert.equal(refusal(t, 'fresh', '10.0.0.1'), undefined);
    // The username's count kept the MAX failures: from a new address, the rest of the cap is all that is left.
    for (let i = 0; i < MAX * USERNAME_CAP_FACTOR - MAX; i++) t.failed('admin', `10.9.${Math.floor(i / MAX)}.${i % MAX}`);
    assert.equal(refusal(t, 'admin', '10.0.0.200')?.scope, 'username');
  });

  it('when several limits bind, the scope with the longest wait is named', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < MAX * ADDRESS_CAP_FACTOR - MAX; i++) t.failed(`spray${i}`, '10.0.0.9');
    advance(5 * 60_000);
    for (let i = 0; i < MAX; i++) t.failed('admin', '10.0.0.9');
    // The address cap's oldest counted failure is 5 min older: it frees first, so the pair is named.
    const r = refusal(t, 'admin', '10.0.0.9');
    assert.equal(r?.scope, 'username-address');
    assert.equal(r?.retryAfterSeconds, 15 * 60);
  });

  it('an IPv4-mapped IPv6 address counts as the IPv4 address', () => {
    assert.equal(normalizeAddress('::ffff:10.0.0.9'), '10.0.0.9');
    assert.equal(normalizeAddress('::FFFF:10.0.0.9'), '10.0.0.9');
    assert.equal(normalizeAddress('fe80::1'), 'fe80::1');
    const { t } = throttle();
    for (let i = 0; i < MAX; i++) t.failed('admin', '::ffff:10.0.0.9');
    assert.equal(refusal(t, 'admin', '10.0.0.9')?.scope, 'username-address');
  });
});

/** Logs in over HTTP from a chosen loopback address (Linux answers all of 127/8). */
function loginFrom(ts: TestServer, localAddress: string, username: string, password: string): Promise<{ status: number; scope?: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ username, password });
    const req = httpRequest(
      `${ts.url}/api/auth/login`,
      { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { details?: { scope?: string } } };
          const retry = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, scope: json.error?.details?.scope, retryAfter: typeof retry === 'string' ? retry : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('when a stranger on another address keeps failing as admin (over HTTP)', () => {
  let ts: TestServer;
  before(async () => {
    // The helper has already logged in as admin from 127.0.0.1, as the real admin would have.
    ts = await startTestServer(undefined, ['--login-max-failures', '2', '--login-window', '15m']);
  });
  after(() => ts.close());

  it('the stranger is paused with Retry-After, and the admin still logs in from 127.0.0.1', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await loginFrom(ts, '127.0.0.2', 'admin', 'wrong password')).status, 401);
    const stranger = await loginFrom(ts, '127.0.0.2', 'admin', TEST_ADMIN_PASSWORD);
    assert.equal(stranger.status, 429, 'even the right password is paused from the failing address');
    assert.equal(stranger.scope, 'username-address');
    assert.ok(Number(stranger.retryAfter) > 0, `Retry-After ${stranger.retryAfter}`);
    assert.equal((await loginFrom(ts, '127.0.0.1', 'admin', TEST_ADMIN_PASSWORD)).status, 200);
  });

  it('strangers on many addresses reach the username cap: new addresses wait, the admin’s own address does not', async () => {
    // 2 failures each from 127.0.0.10…18, and the 2 above: the username's cap of 2 × 10.
    for (let a = 10; a < 19; a++) {
      for (let i = 0; i < 2; i++) assert.equal((await loginFrom(ts, `127.0.0.${a}`, 'admin', 'wrong password')).status, 401);
    }
    const newcomer = await loginFrom(ts, '127.0.0.30', 'admin', TEST_ADMIN_PASSWORD);
    assert.equal(newcomer.status, 429);
    assert.equal(newcomer.scope, 'username');
    assert.equal((await loginFrom(ts, '127.0.0.1', 'admin', TEST_ADMIN_PASSWORD)).status, 200);
  });

  it('a successful login resets the failures of that address', async () => {
    await ts.server.auth.createUser({ username: 'ivy', password: 'ivy-password', role: 'viewer', status: 'active' });
    assert.equal((await loginFrom(ts, '127.0.0.40', 'ivy', 'wrong password')).status, 401);
    assert.equal((await loginFrom(ts, '127.0.0.40', 'ivy', 'ivy-password')).status, 200);
    assert.equal((await loginFrom(ts, '127.0.0.40', 'ivy', 'wrong password')).status, 401);
    // Two failures in the window from this pair, but the success between them cleared the first.
    assert.equal((await loginFrom(ts, '127.0.0.40', 'ivy', 'ivy-password')).status, 200);
  });
});
