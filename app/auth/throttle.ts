/**
 * Login throttling: failed attempts are counted in a sliding window per username-and-address pair, per
 * username and per address. Counters live in memory only and expire with the window; a restart forgets
 * them, which is fine for a LAN server (an attacker restarting it has bigger powers).
 *
 * The pair is the tight limit (`--login-max-failures`): someone guessing one account from one machine.
 * The username cap is looser (×10) and catches guessing spread over many addresses, but an address that
 * has logged in as that user recently is exempt, so a stranger cannot lock the real user out of their
 * own machine. The address cap (×4, across usernames) slows one machine spraying many accounts.
 */

import type { Clock } from '../model/clock.ts';
import { LoginThrottled } from '../model/errors.ts';

/** Counts failures by key within a window. */
export class FailureWindow {
  private readonly failures = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(private readonly max: number, private readonly windowMs: number, private readonly now: Clock = Date.now) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): number {
    const list = this.prune(key);
    if (list.length < this.max) return 0;
    const oldest = list[list.length - this.max] ?? this.now();
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  /** Records a failure. */
  fail(key: string): void {
    const list = this.prune(key);
    list.push(this.now());
    this.failures.set(key, list);
    this.sweep();
  }

  /** Forgets a key (after a successful login). */
  reset(key: string): void {
    this.failures.delete(key);
  }

  private prune(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  /** Drops expired keys at most once a window, so memory stays bounded by recent traffic. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const key of [...this.failures.keys()]) this.prune(key);
  }
}

/** The per-username cap, as a multiple of the per-pair limit. */
export const USERNAME_CAP_FACTOR = 10;
/** The per-address cap (across usernames), as a multiple of the per-pair limit. */
export const ADDRESS_CAP_FACTOR = 4;
/** How long a successful login keeps its address exempt from that username's cap. */
export const KNOWN_ADDRESS_MS = 30 * 24 * 3600 * 1000;
/** Known (username, address) pairs kept at most; the least recently used go first. */
const KNOWN_MAX = 10_000;

/** The same machine over IPv4 and IPv4-mapped IPv6 (`::ffff:10.0.0.5`) counts as one address. */
export function normalizeAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Per pair, per username and per address login throttling, with a clock tests can drive. */
export class LoginThrottle {
  private readonly pair: FailureWindow;
  private readonly byName: FailureWindow;
  private readonly byAddress: FailureWindow;
  /** pair key → time of its last successful login. */
  private readonly known = new Map<string, number>();

  constructor(maxFailures: number, windowMs: number, private readonly now: Clock = Date.now) {
    this.pair = new FailureWindow(maxFailures, windowMs, now);
    this.byName = new FailureWindow(maxFailures * USERNAME_CAP_FACTOR, windowMs, now);
    this.byAddress = new FailureWindow(maxFailures * ADDRESS_CAP_FACTOR, windowMs, now);
  }

  /** Throws LoginThrottled (the scope with the longest wait) when this username may not be tried from this address now. */
  check(username: string, address: string): void {
    const { name, addr, pairKey } = keys(username, address);
    const waits: [LoginThrottled['scope'], number][] = [
      ['username-address', this.pair.retryAfter(pairKey)],
      ['address', this.byAddress.retryAfter(addr)],
      ['username', this.isKnown(pairKey) ? 0 : this.byName.retryAfter(name)],
    ];
    let worst: [LoginThrottled['scope'], number] | undefined;
    for (const w of waits) if (w[1] > 0 && (worst === undefined || w[1] > worst[1])) worst = w;
    if (worst) throw new LoginThrottled(worst[0], worst[1]);
  }

  /** Records a wrong password (or unknown username) from an address. */
  failed(username: string, address: string): void {
    const { name, addr, pairKey } = keys(username, address);
    this.pair.fail(pairKey);
    this.byName.fail(name);
    this.byAddress.fail(addr);
  }

  /**
   * Records a right password: forgets the pair's and the address's failures and remembers the address as
   * the user's own. The username's count stays: guesses from elsewhere are no less likely to go on.
   */
  succeeded(username: string, address: string): void {
    const { addr, pairKey } = keys(username, address);
    this.pair.reset(pairKey);
    this.byAddress.reset(addr);
    this.known.delete(pairKey); // re-inserted last, so the map's order is least recently used first
    this.known.set(pairKey, this.now());
    if (this.known.size > KNOWN_MAX) this.known.delete(this.known.keys().next().value!);
  }

  private isKnown(pairKey: string): boolean {
    const at = this.known.get(pairKey);
    if (at === undefined) return false;
    if (this.now() - at < KNOWN_ADDRESS_MS) return true;
    this.known.delete(pairKey);
    return false;
  }
}

function keys(username: string, address: string): { name: string; addr: string; pairKey: string } {
  const name = username.toLowerCase();
  const addr = normalizeAddress(address);
  // An address never holds NUL, so the last NUL splits a key one way only: no two pairs share a key.
  return { name, addr, pairKey: `${name}\0${addr}` };
}
