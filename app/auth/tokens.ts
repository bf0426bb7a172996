/**
 * Login tokens: HS256 JWTs through jose, with the algorithm pinned so `alg: none` and algorithm swaps
 * are refused. The signing secret is generated on first run into the data folder, owner-only.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';

const ALG = 'HS256';
const ISSUER = 'wsoptv';
/** File name of the secret inside the data folder. */
export const SECRET_FILE = 'jwt-secret';

/** Reads the signing secret, creating it (0600) on first run and tightening loose permissions. */
export function loadOrCreateSecret(dataDir: string): { secret: Uint8Array; created: boolean } {
  const file = path.join(dataDir, SECRET_FILE);
  let created = false;
  try {
    writeFileSync(file, randomBytes(64).toString('base64url'), { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const text = readFileSync(file, 'utf8').trim();
  if (text.length < 32) throw new Error(`${SECRET_FILE} in the data folder is too short to be a secret`);
  return { secret: new TextEncoder().encode(text), created };
}

/** Verified tokens remembered, so a player's many range requests cost one HMAC check, not one each. */
const VERIFIED_CACHE_SIZE = 2048;

/** Signs and verifies tokens with one secret. */
export class TokenSigner {
  /**
   * token → (user id, expiry). jose checks HMACs through WebCrypto, which runs on libuv's thread pool:
   * under load a check queued behind a hundred file reads and added tens of ms to a seek. Only good
   * tokens are kept, until their own expiry; a user's status is still read on every request.
   */
  private readonly verified = new Map<string, { readonly sub: string; readonly exp: number }>();

  constructor(private readonly secret: Uint8Array, private readonly ttlSeconds: number) {}

  /** A token for a user id; returns it with its expiry (seconds since the epoch). */
  async sign(userId: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = nowSeconds + this.ttlSeconds;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(expiresAt)
      .sign(this.secret);
    return { token, expiresAt };
  }

  /** The user id inside a valid, unexpired token of ours; null for anything else. */
  async verify(token: string, nowSeconds = Date.now() / 1000): Promise<string | null> {
    if (token.length > 4096) return null;
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp > nowSeconds) return hit.sub;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: [ALG], issuer: ISSUER });
      if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') return null;
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { sub: payload.sub, exp: payload.exp });
      return payload.sub;
    } catch {
      return null;
    }
  }
}
