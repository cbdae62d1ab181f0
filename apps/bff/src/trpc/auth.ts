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

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

const usersFileSchema = z.strictObject({
  users: z
    .array(
      z
        .strictObject({
          name: z.string().min(1).max(64),
          role: z.enum(ROLES),
          namespaces: z.union([z.literal('*'), z.array(z.string().min(1).max(63)).min(1)]).default('*'),
          token: z.string().min(16, 'tokens are at least 16 characters').optional(),
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

export interface AuthOptions {
  /** Where the admin token's hash lives (`auth.json`); none keeps it in memory (tests). */
  readonly dataDir?: string;
  /** A YAML file of more users (`users: [{name, role, namespaces, token | tokenSha256}]`). */
  readonly usersFile?: string;
  /** Extra users given directly (tests, embedding). */
  readonly users?: readonly (User & { token: string })[];
  /** How long a session lasts. Default 12 h. */
  readonly sessionTtlMs?: number;
  /** Told the admin token once, when it is generated. */
  readonly onAdminTokenCreated?: (token: string, file: string | undefined) => void;
  readonly now?: () => number;
}

export class Auth {
  private readonly tokens: TokenEntry[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** The generated admin token, kept only when there is no data directory to store its hash in. */
  readonly adminToken: string | undefined;

  constructor(options: AuthOptions = {}) {
    this.ttlMs = options.sessionTtlMs ?? 12 * 3600_000;
    this.now = options.now ?? Date.now;
    let adminHash: Buffer;
    const file = options.dataDir ? join(options.dataDir, 'auth.json') : undefined;
    if (file && existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { admin?: { tokenSha256?: string } };
      const hex = stored.admin?.tokenSha256 ?? '';
      if (!/^[0-9a-f]{64}$/.test(hex))
        throw new AuthError(`${file}: no admin.tokenSha256; delete it to make a new token`);
      adminHash = Buffer.from(hex, 'hex');
      this.adminToken = undefined;
    } else {
      const token = `gov_${randomBytes(24).toString('base64url')}`;
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
    this.prune();
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

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}
