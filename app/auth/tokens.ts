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
/** Name of the claim carrying the user's token epoch (see UserStore). */
const EPOCH_CLAIM = 'epoch';

/** What a valid token of ours says. */
export interface TokenClaims {
  /** The user id. */
  readonly sub: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** The user's token epoch when it was issued; valid only while the user's epoch still equals it. */
  readonly epoch: number;
  /** The token's own id, by which logout revokes it. */
  readonly jti: string;
}

/** Signs and verifies tokens with one secret. */
export class TokenSigner {
  /**
   * token → its claims. jose checks HMACs through WebCrypto, which runs on libuv's thread pool:
   * under load a check queued behind a hundred file reads and added tens of ms to a seek. Only good
   * tokens are kept, until their own expiry. What can change after signing (the user's status and epoch,
   * a logout) is not cached here: the auth module reads it from the database on every request.
   */
  private readonly verified = new Map<string, TokenClaims>();

  constructor(private readonly secret: Uint8Array, private readonly ttlSeconds: number) {}

  /** A token for a user id at the user's current token epoch; returns it with its expiry (seconds since the epoch) and id. */
  async sign(userId: string, epoch: number, nowSeconds = Math.floor(Date.now() / 1000)): Promise<{ token: string; expiresAt: number; jti: string }> {
    const expiresAt = nowSeconds + this.ttlSeconds;
    const jti = randomBytes(16).toString('base64url');
    const token = await new SignJWT({ [EPOCH_CLAIM]: epoch })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setJti(jti)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(expiresAt)
      .sign(this.secret);
    return { token, expiresAt, jti };
  }

  /**
   * The claims of a valid, unexpired token of ours; null for anything else, including a token without an
   * id or an epoch (made before tokens could be revoked: it could never be logged out, so it is refused).
   */
  async verify(token: string, nowSeconds = Date.now() / 1000): Promise<TokenClaims | null> {
    if (token.length > 4096) return null;
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp > nowSeconds) return hit;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: [ALG], issuer: ISSUER, currentDate: new Date(nowSeconds * 1000) });
      const { sub, exp, jti } = payload;
      const epoch = payload[EPOCH_CLAIM];
      if (typeof sub !== 'string' || sub === '' || typeof exp !== 'number') return null;
      if (typeof jti !== 'string' || jti === '' || jti.length > 64) return null;
      if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) return null;
      const claims: TokenClaims = { sub, exp, epoch, jti };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, claims);
      return claims;
    } catch {
      return null;
    }
  }

  /** Drops a token from the verified cache (after logout: its row in the database is what refuses it). */
  forget(token: string): void {
    this.verified.delete(token);
  }
}
