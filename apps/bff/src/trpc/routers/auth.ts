/** Login and logout: a token for an HttpOnly, SameSite=Strict session cookie. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { auditFailedLogins, SESSION_COOKIE } from '../../auth/auth';
import { publicProcedure, router, tooManyFailedLogins } from '../../api/trpc';

function cookie(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export const authRouter = router({
  /** Who is logged in, or null. */
  me: publicProcedure.query(({ ctx }) =>
    ctx.user ? { name: ctx.user.name, role: ctx.user.role, namespaces: ctx.user.namespaces } : null,
  ),

  login: publicProcedure
    .input(z.strictObject({ token: z.string().min(1).max(512) }))
    .mutation(({ ctx, input }) => {
      // A login from another site would plant its session in this browser.
      if (ctx.origin !== undefined && !ctx.deps.isAllowedOrigin(ctx.origin))
        throw new TRPCError({ code: 'FORBIDDEN', message: `refused: a login from origin ${ctx.origin}` });
      const logins = ctx.deps.auth.logins;
      const source = ctx.source ?? 'unknown';
      auditFailedLogins(ctx.deps);
      const wait = logins.admit(source);
      if (wait !== null) throw tooManyFailedLogins(ctx, wait);
      const session = ctx.deps.auth.login(input.token);
      if (!session) {
        // Audited per address and window when the window ends (auditFailedLogins), not per attempt.
        logins.failed(source);
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'unknown token' });
      }
      logins.succeeded(source);
      ctx.res?.setHeader(
        'set-cookie',
        cookie(session.sessionId, Math.floor(ctx.deps.auth.sessionTtlMs / 1000)),
      );
      ctx.deps.audit.record({ user: session.user.name, action: 'login' });
      return { name: session.user.name, role: session.user.role, namespaces: session.user.namespaces };
    }),

  logout: publicProcedure.mutation(({ ctx }) => {
    if (ctx.sessionId) ctx.deps.auth.logout(ctx.sessionId);
    ctx.res?.setHeader('set-cookie', cookie('', 0));
    return { ok: true };
  }),
});
