/**
 * Who may do what. Users are tokens with a role (`viewer` < `editor` < `admin`) scoped to namespaces: an
 * admin token generated on first start (stored hashed in the data directory, printed once), and more from a
 * users file. A login turns a token into a session (an HttpOnly, SameSite=Strict cookie); scripts may send
 * the token itself as `Authorization: Bearer <token>`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log';

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  readonly name: string;
  readonly role: Role;
  /** The namespaces the role applies to; `*` for all. */
  readonly namespaces: readonly string[] | '*';
}

const rank = (r: Role): number => ROLES.indexOf(r);

/** Whether `user` has at least `role` in `namespace` (or, without one, in at least one namespace). */
export function allows(user: User, role: Role, namespace?: string): boolean {
  if (rank(user.role) < rank(role)) return false;
  if (namespace === undefined || user.namespaces === '*') return true;
  return user.namespaces.includes(namespace);
}

/** Whether `user` may see `namespace` at all. */
export const canSee = (user: User, namespace: string): boolean => allows(user, 'viewer', namespace);

/** The SHA-256 of a token: all that is kept of one. */
export const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** A new admin token: `gov_` and 24 random bytes in base64url, 36 characters. */
export const newAdminToken = (): string => `gov_${randomBytes(24).toString('base64url')}`;

/** A token shorter than this is refused: with a login limit of a few tries a minute, guessing one is hopeless. */
export const MIN_TOKEN_LENGTH = 32;

const usersFileSchema = z.strictObject({
  users: z
    .array(
      z
        .strictObject({
          name: z.string().min(1).max(64),
          role: z.enum(ROLES),
          namespaces: z.union([z.literal('*'), z.array(z.string().min(1).max(63)).min(1)]).default('*'),
          token: z
            .string()
            .min(
              MIN_TOKEN_LENGTH,
              `tokens are at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`,
            )
            .optional(),
          tokenSha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex')
            .optional(),
        })
        .refine((u) => (u.token === undefined) !== (u.tokenSha256 === undefined), {
          message: 'give token or tokenSha256 (one of them)',
        }),
    )
    .max(1000),
});

export class AuthError extends Error {
  override name = 'AuthError';
}

interface TokenEntry {
  readonly user: User;
  readonly hash: Buffer;
}

interface Session {
  readonly user: User;
  readonly expiresAt: number;
}

export const SESSION_COOKIE = 'governor_session';

/** Sessions one token may hold at once: logging in again and again cannot fill the memory. */
export const MAX_SESSIONS_PER_USER = 100;

export interface AuthOptions {
  /** Where the admin token's hash lives (`auth.json`); none keeps it in memory (tests). */
  readonly dataDir?: string;
  /** The admin token's hash, kept elsewhere (a cluster's ConfigMap): no file is read or written. */
  readonly adminTokenSha256?: Buffer;
  /** A YAML file of more users (`users: [{name, role, namespaces, token | tokenSha256}]`). */
  readonly usersFile?: string;
  /** Extra users given directly (tests, embedding). */
  readonly users?: readonly (User & { token: string })[];
  /** How long a session lasts. Default 12 h. */
  readonly sessionTtlMs?: number;
  /** Told the admin token once, when it is generated. */
  readonly onAdminTokenCreated?: (token: string, file: string | undefined) => void;
  readonly now?: () => number;
  /** Limits on failed logins (defaults: 5 per address and 100 in all per minute). */
  readonly loginLimits?: LoginLimits;
}

/** The failed logins of one source address (or, for `source` null, of addresses refused without one) in one window. */
export interface FailedLoginWindow {
  /** The address; null: the logins refused while the global limit held, from addresses not counted on their own. */
  readonly source: string | null;
  /** Wrong tokens. */
  readonly failed: number;
  /** Logins refused by the limit, their token unchecked. */
  readonly refused: number;
  /** Unix ms of the window's start and end. */
  readonly from: number;
  readonly to: number;
}

export interface LoginLimits {
  /** Failed logins per source address per window before every login from it is refused. Default 5. */
  readonly perSource?: number;
  /** Failed logins from all addresses per window before untrusted addresses are refused. Default 100. */
  readonly global?: number;
  /** Default 60 s. */
  readonly windowMs?: number;
  /** How long an address that logged in successfully stays exempt from the global limit. Default 24 h. */
  readonly trustForMs?: number;
}

interface LoginWindow {
  start: number;
  failed: number;
  refused: number;
}

/** Addresses remembered as having logged in (the oldest forgotten first). */
const MAX_TRUSTED_SOURCES = 1000;

/**
 * Limits failed logins, per source address and across all of them, and sums them up per window for the
 * audit log (one record per address and window, not one per attempt).
 *
 * An address with `perSource` failures in a window is refused outright until the window ends, even with the
 * right token: otherwise the limit would still answer which guess was right. Past `global` failures in a
 * window from everywhere, addresses are refused in the same way unless they logged in successfully lately,
 * so an attack from many addresses does not lock out those who use Governor. A refused login's token is not
 * checked. Windows are counted only for failures that were checked, so the table holds at most about
 * `global` addresses per window (plus those trusted).
 */
export class LoginThrottle {
  private readonly perSource: number;
  private readonly globalLimit: number;
  private readonly windowMs: number;
  private readonly trustForMs: number;
  private readonly sources = new Map<string, LoginWindow>();
  private global: LoginWindow | null = null;
  /** Logins refused while the global limit held, from addresses with no window of their own. */
  private refusedElsewhere: LoginWindow | null = null;
  /** Address -> when it last logged in successfully; insertion order is recency. */
  private readonly trusted = new Map<string, number>();
  /** Windows that ended when their address failed again, not yet drained. */
  private readonly ended: FailedLoginWindow[] = [];

  constructor(
    limits: LoginLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.perSource = limits.perSource ?? 5;
    this.globalLimit = limits.global ?? 100;
    this.windowMs = limits.windowMs ?? 60_000;
    this.trustForMs = limits.trustForMs ?? 24 * 3600_000;
  }

  private live(w: LoginWindow | null | undefined, now: number): w is LoginWindow {
    return w != null && now < w.start + this.windowMs;
  }

  /** Null when a login from `source` may be checked now; else the milliseconds until it may try again. */
  admit(source: string): number | null {
    const now = this.now();
    const own = this.sources.get(source);
    if (this.live(own, now) && own.failed >= this.perSource) {
      own.refused++;
      return own.start + this.windowMs - now;
    }
    const g = this.global;
    if (this.live(g, now) && g.failed >= this.globalLimit && !this.isTrusted(source, now)) {
      if (this.live(own, now)) own.refused++;
      else {
        if (!this.live(this.refusedElsewhere, now)) {
          if (this.refusedElsewhere) this.ended.push(this.summary(null, this.refusedElsewhere));
          this.refusedElsewhere = { start: now, failed: 0, refused: 0 };
        }
        this.refusedElsewhere.refused++;
      }
      return g.start + this.windowMs - now;
    }
    return null;
  }

  /** A login from `source` was checked and its token was wrong. */
  failed(source: string): void {
    const now = this.now();
    let own = this.sources.get(source);
    if (!this.live(own, now)) {
      if (own) this.ended.push(this.summary(source, own));
      own = { start: now, failed: 0, refused: 0 };
      // Re-inserted, so that the map's order stays the order in which windows started.
      this.sources.delete(source);
      this.sources.set(source, own);
    }
    own.failed++;
    if (!this.live(this.global, now)) this.global = { start: now, failed: 0, refused: 0 };
    this.global.failed++;
  }

  /** A login from `source` succeeded: it stays exempt from the global limit for a while. */
  succeeded(source: string): void {
    this.trusted.delete(source);
    this.trusted.set(source, this.now());
    if (this.trusted.size > MAX_TRUSTED_SOURCES) this.trusted.delete(this.trusted.keys().next().value!);
  }

  private isTrusted(source: string, now: number): boolean {
    const at = this.trusted.get(source);
    return at !== undefined && now - at < this.trustForMs;
  }

  private summary(source: string | null, w: LoginWindow): FailedLoginWindow {
    return { source, failed: w.failed, refused: w.refused, from: w.start, to: w.start + this.windowMs };
  }

  /** The windows that have ended since the last call (all of them with `all`, e.g. at shutdown), each once. */
  drain(all = false): FailedLoginWindow[] {
    const now = all ? Number.POSITIVE_INFINITY : this.now();
    const out = this.ended.splice(0);
    // Windows start in the map's order: the first one still open ends the sweep.
    for (const [source, w] of this.sources) {
      if (this.live(w, now)) break;
      this.sources.delete(source);
      out.push(this.summary(source, w));
    }
    if (this.refusedElsewhere && !this.live(this.refusedElsewhere, now)) {
      out.push(this.summary(null, this.refusedElsewhere));
      this.refusedElsewhere = null;
    }
    return out;
  }

  /** Addresses with a window held (for tests of the bound). */
  get tracked(): number {
    return this.sources.size;
  }
}

export class Auth {
  private readonly tokens: TokenEntry[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** The generated admin token, kept only when there is no data directory to store its hash in. */
  readonly adminToken: string | undefined;
  /** Failed logins, limited and summed up per address. */
  readonly logins: LoginThrottle;

  constructor(options: AuthOptions = {}) {
    this.ttlMs = options.sessionTtlMs ?? 12 * 3600_000;
    this.now = options.now ?? Date.now;
    this.logins = new LoginThrottle(options.loginLimits, this.now);
    let adminHash: Buffer;
    const file = options.dataDir ? join(options.dataDir, 'auth.json') : undefined;
    if (options.adminTokenSha256 !== undefined) {
      adminHash = options.adminTokenSha256;
      this.adminToken = undefined;
    } else if (file && existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { admin?: { tokenSha256?: string } };
      const hex = stored.admin?.tokenSha256 ?? '';
      if (!/^[0-9a-f]{64}$/.test(hex))
        throw new AuthError(`${file}: no admin.tokenSha256; delete it to make a new token`);
      adminHash = Buffer.from(hex, 'hex');
      this.adminToken = undefined;
    } else {
      const token = newAdminToken();
      adminHash = sha256(token);
      if (file) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(
          file,
          `${JSON.stringify({ admin: { tokenSha256: adminHash.toString('hex') } }, null, 2)}\n`,
          {
            mode: 0o600,
          },
        );
        this.adminToken = undefined;
      } else this.adminToken = token;
      options.onAdminTokenCreated?.(token, file);
    }
    this.tokens.push({ user: { name: 'admin', role: 'admin', namespaces: '*' }, hash: adminHash });
    if (options.usersFile) this.loadUsersFile(options.usersFile);
    for (const u of options.users ?? [])
      this.tokens.push({
        user: { name: u.name, role: u.role, namespaces: u.namespaces },
        hash: sha256(u.token),
      });
  }

  private loadUsersFile(file: string): void {
    let raw: unknown;
    try {
      raw = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new AuthError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = usersFileSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new AuthError(`${file}: ${i.path.join('.') || '(file)'}: ${i.message}`);
    }
    for (const u of r.data.users) {
      const hash = u.token !== undefined ? sha256(u.token) : Buffer.from(u.tokenSha256!, 'hex');
      this.tokens.push({ user: { name: u.name, role: u.role, namespaces: u.namespaces }, hash });
    }
  }

  /** The user a token belongs to, or null. Compares hashes in constant time. */
  authenticate(token: string): User | null {
    const hash = sha256(token);
    let found: User | null = null;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, hash) && found === null) found = t.user;
    return found;
  }

  /** A new session for a valid token. */
  login(token: string): { sessionId: string; user: User; expiresAt: number } | null {
    const user = this.authenticate(token);
    if (!user) return null;
    const sessionId = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.sessions.set(sessionId, { user, expiresAt });
    this.prune(user);
    return { sessionId, user, expiresAt };
  }

  session(sessionId: string): User | null {
    const s = this.sessions.get(sessionId);
    if (!s) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(sessionId);
      return null;
    }
    return s.user;
  }

  logout(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  get sessionTtlMs(): number {
    return this.ttlMs;
  }

  /** Drops expired sessions, and the oldest of `user`'s beyond {@link MAX_SESSIONS_PER_USER}. */
  private prune(user: User): void {
    const now = this.now();
    const theirs: string[] = [];
    for (const [id, s] of this.sessions) {
      if (s.expiresAt <= now) this.sessions.delete(id);
      else if (s.user === user) theirs.push(id);
    }
    // The map keeps insertion order: the first are the oldest.
    for (const id of theirs.slice(0, Math.max(0, theirs.length - MAX_SESSIONS_PER_USER)))
      this.sessions.delete(id);
  }
}

function describe(w: FailedLoginWindow): string {
  const seconds = Math.round((w.to - w.from) / 1000);
  const refused = w.refused > 0 ? ` and ${w.refused} refused unchecked by the limit` : '';
  const from = w.source === null ? 'addresses over the global limit' : w.source;
  return `${w.failed} failed login(s)${refused} from ${from} in the ${seconds} s from ${new Date(w.from).toISOString()}`;
}

/**
 * Writes the failed logins of the windows that have ended to the audit log, one record per address and
 * window (`all`: the open ones too, at shutdown).
 */
export function auditFailedLogins(deps: { auth: Auth; audit: Pick<AuditLog, 'record'> }, all = false): void {
  for (const w of deps.auth.logins.drain(all))
    deps.audit.record({ user: '(unknown)', action: 'login-failed', detail: describe(w) });
}
