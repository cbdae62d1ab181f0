'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { useTRPC } from '../../lib/trpc';

function LoginForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const params = useSearchParams();
  const queryClient = useQueryClient();
  const [token, setToken] = useState('');
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries();
        const next = params.get('next');
        router.push(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
      },
    }),
  );
  return (
    <main className="mx-auto mt-24 max-w-sm px-6">
      <h1 className="text-2xl font-semibold">Governor</h1>
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
        Log in with your token. The admin token is printed by the BFF when it first starts; more users come
        from <code>GOVERNOR_USERS_FILE</code>.
      </p>
      <form
        className="mt-6 space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          login.mutate({ token: token.trim() });
        }}
      >
        <label className="block text-sm font-medium" htmlFor="token">
          Token
        </label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          className="w-full rounded-md border border-slate-300 bg-white px-3 py-2 dark:border-slate-600 dark:bg-slate-900"
        />
        {login.isError && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {login.error.message === 'unknown token'
              ? 'That token is not known. Check it and try again.'
              : login.error.message}
          </p>
        )}
        <button
          type="submit"
          disabled={login.isPending || token.trim() === ''}
          className="w-full rounded-md bg-indigo-600 px-3 py-2 font-medium text-white disabled:opacity-50"
        >
          {login.isPending ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

export default function LoginPage() {
  return (
    <Suspense>
      <LoginForm />
    </Suspense>
  );
}
