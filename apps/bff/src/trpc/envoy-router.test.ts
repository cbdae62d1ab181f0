import { describe, expect, it } from 'vitest';
import type { ApiDeps } from '../api/deps';
import type { Context } from '../api/trpc';
import type { User } from '../auth/auth';
import { appRouter } from './router';

// The envoy router reads only Envoy's protos: no store, no product behind it.
const caller = (user: User | null) => {
  const ctx: Context = {
    deps: {} as ApiDeps,
    user,
    via: user ? 'bearer' : null,
    sessionId: null,
    origin: undefined,
    res: undefined,
  };
  return appRouter.createCaller(ctx);
};
const viewer = caller({ name: 'vic', role: 'viewer', namespaces: ['default'] });

describe('the envoy router (createCaller)', () => {
  it('lists the HTTP filters with type URLs to a viewer, nobody without a login', async () => {
    const { filters, source } = await viewer.envoy.filters();
    expect(source).toMatch(/^@grpc\/grpc-js-xds@/);
    expect(filters).toContainEqual({
      name: 'envoy.filters.http.fault',
      typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      hasPerRouteConfig: true,
      perRouteTypeUrl: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
    });
    expect(filters.find((f) => f.name === 'envoy.filters.http.wasm')?.hasPerRouteConfig).toBe(false);
    await expect(caller(null).envoy.filters()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it("gives a filter's schema by name or type URL, and NOT_FOUND with the closest filter", async () => {
    const byName = await viewer.envoy.schema({ filter: 'envoy.filters.http.lua' });
    expect(byName.$ref).toBe('#/$defs/envoy.extensions.filters.http.lua.v3.Lua');
    const perRoute = await viewer.envoy.schema({ filter: 'envoy.filters.http.lua', perRoute: true });
    expect(perRoute.$ref).toBe('#/$defs/envoy.extensions.filters.http.lua.v3.LuaPerRoute');
    const byUrl = await viewer.envoy.schema({
      filter: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
    });
    expect(Object.keys(byUrl.$defs)).toContain('envoy.type.v3.FractionalPercent');
    await expect(viewer.envoy.schema({ filter: 'envoy.filters.http.fautl' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('envoy.filters.http.fault'),
    });
    await expect(
      viewer.envoy.schema({ filter: 'envoy.filters.http.wasm', perRoute: true }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('validates settings with paths and suggestions; refuses oversized input', async () => {
    expect(
      await viewer.envoy.validate({
        filter: 'envoy.filters.http.fault',
        settings: { abort: { http_status: 429, percentage: { denominator: 'HUNDRED', numerator: 30 } } },
      }),
    ).toEqual({ issues: [] });
    const { issues } = await viewer.envoy.validate({
      filter: 'envoy.filters.http.fault',
      settings: { abort: { percentage: { numerater: 30 } } },
    });
    expect(issues).toEqual([
      expect.objectContaining({ path: 'abort.percentage.numerater', suggestion: 'numerator' }),
    ]);
    await expect(
      viewer.envoy.validate({
        filter: 'envoy.filters.http.lua',
        settings: { default_source_code: 'x'.repeat(300_000) },
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(viewer.envoy.validate({ filter: 'x'.repeat(301), settings: {} })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});
