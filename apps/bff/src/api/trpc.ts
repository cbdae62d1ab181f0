/**
 * tRPC set-up: the request context (who is calling, and how), the procedure builders by role, and the
 * error shape (typed codes, field paths for bad input, never a stack trace).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import { allows, SESSION_COOKIE, type Role, type User } from '../auth/auth';
import type { ApiDeps } from './deps';
import { InputInvalid } from '../lib/input-issues';

export interface Context {
  /** The cluster's the request works on: the one its input names (`cluster`), else the home cluster's. */
  readonly deps: ApiDeps;
  /** The input named a cluster: a list gives that cluster's rows only. */
  readonly clusterChosen?: boolean;
  readonly user: User | null;
  /** How the caller proved who it is: a session cookie (a browser) or a bearer token (a script). */
  readonly via: 'cookie' | 'bearer' | null;
  readonly sessionId: string | null;
  /** The request's Origin header, if any. */
  readonly origin: string | undefined;
  readonly res: ServerResponse | undefined;
  /** The peer's address, which failed logins are limited by. */
  readonly source?: string;
  /** Set when a bearer token was refused unchecked after too many failed logins: the ms to wait. */
  readonly retryAfterMs?: number;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

/** Builds the context of one HTTP request. */
export function contextFrom(deps: ApiDeps, req: IncomingMessage, res?: ServerResponse): Context {
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
  const authz = req.headers.authorization;
  const source = req.socket.remoteAddress ?? 'unknown';
  if (typeof authz === 'string' && authz.toLowerCase().startsWith('bearer ')) {
    // A bearer token is a login on every request: it is limited as one, or guessing would go on here.
    const wait = deps.auth.logins.admit(source);
    if (wait !== null)
      return { deps, user: null, via: null, sessionId: null, origin, res, source, retryAfterMs: wait };
    const user = deps.auth.authenticate(authz.slice(7).trim());
    if (user) deps.auth.logins.succeeded(source);
    else deps.auth.logins.failed(source);
    return { deps, user, via: user ? 'bearer' : null, sessionId: null, origin, res, source };
  }
  const sessionId = parseCookies(req.headers.cookie).get(SESSION_COOKIE) ?? null;
  const user = sessionId ? deps.auth.session(sessionId) : null;
  return { deps, user, via: user ? 'cookie' : null, sessionId: user ? sessionId : null, origin, res, source };
}

const t = initTRPC.context<Context>().create({
  // Keep SSE connections alive through proxies; a client that hears nothing for long reconnects (and resumes).
  sse: {
    ping: { enabled: true, intervalMs: 5_000 },
    client: { reconnectAfterInactivityMs: 15_000 },
  },
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    const { stack: _stack, ...data } = shape.data;
    return {
      ...shape,
      message:
        zod !== null
          ? zod.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')
          : shape.message,
      data: {
        ...data,
        fieldErrors: zod ? zod.issues.map((i) => ({ path: i.path.map(String), message: i.message })) : null,
        issues: error.cause instanceof InputInvalid ? error.cause.issues : null,
      },
    };
  },
});

export const router = t.router;
export const middleware = t.middleware;
export const publicProcedure = t.procedure;

/**
 * Any procedure's input may name a cluster (`cluster`): the request then works on that cluster's
 * dependencies, and the procedure's own input parser never sees the field.
 */
const clusterScoped = t.middleware(async ({ ctx, getRawInput, next }) => {
  const raw = await getRawInput();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('cluster' in raw)) return next();
  const { cluster, ...rest } = raw as Record<string, unknown>;
  if (typeof cluster !== 'string')
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'cluster: a cluster name is expected' });
  const deps = ctx.deps.fleet.get(cluster);
  if (!deps)
    throw new TRPCError({
      code: 'NOT_FOUND',
      message: `no cluster "${cluster.slice(0, 80)}" (clusters: ${ctx.deps.fleet
        .clusters()
        .map((c) => c.cluster)
        .join(', ')})`,
    });
  // tRPC passes a replaced raw input on at run time; its types offer it only without a context.
  const withInput = { getRawInput: async () => rest } as object;
  return next({ ctx: { deps, clusterChosen: true }, ...withInput });
});

/** What every procedure's input may add: the cluster it works on (its type, for the clients). */
const clusterInput = z.object({ cluster: z.string().max(63).optional() }).optional();

/** Any logged-in user. */
export const viewerProcedure = t.procedure
  .use(clusterScoped)
  .input(clusterInput)
  .use(({ ctx, next }) => {
    if (ctx.retryAfterMs !== undefined) throw tooManyFailedLogins(ctx, ctx.retryAfterMs);
    if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'log in first' });
    return next({ ctx: { ...ctx, user: ctx.user } });
  });

/** The error for a login refused by the limit on failed logins, with a Retry-After header. */
export function tooManyFailedLogins(ctx: Context, waitMs: number): TRPCError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  ctx.res?.setHeader('retry-after', String(seconds));
  return new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: `too many failed logins from ${ctx.source ?? 'this address'}: try again in ${seconds} s`,
  });
}

/**
 * Why a change by this caller is refused, or null: no login; a browser whose request comes from another
 * origin (CSRF); a user without `role` anywhere. The namespace check is the caller's, with {@link requireRole}.
 * The API's mutations and the plain HTTP endpoints share it.
 */
export function changeRefusal(
  ctx: Context,
  role: Role,
): { code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string } | null {
  if (!ctx.user)
    return { code: 'UNAUTHORIZED', message: 'log in first (or send Authorization: Bearer <token>)' };
  if (ctx.via === 'cookie' && !ctx.deps.isAllowedOrigin(ctx.origin))
    return {
      code: 'FORBIDDEN',
      message: `refused: a change from origin ${ctx.origin ?? '(none)'}; the dashboard's origin is required`,
    };
  if (!allows(ctx.user, role))
    return { code: 'FORBIDDEN', message: `${ctx.user.name} is a ${ctx.user.role}: ${role} needed` };
  return null;
}

/** A change: refused as {@link changeRefusal} says. */
export function mutationProcedure(role: Role) {
  return viewerProcedure.use(({ ctx, next }) => {
    const refusal = changeRefusal(ctx, role);
    if (refusal) throw new TRPCError(refusal);
    return next();
  });
}

/** Throws FORBIDDEN unless `user` has `role` in `namespace`. */
export function requireRole(user: User, role: Role, namespace: string): void {
  if (!allows(user, role, namespace))
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `${user.name} may not ${role === 'viewer' ? 'see' : 'change'} namespace ${namespace}`,
    });
}
