/** Envoy's HTTP filters for the dashboard's plugin forms: the catalog, a filter's settings schema, a check. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { router, viewerProcedure } from '../../api/trpc';
import { envoyCatalog, filterSchema, validateFilterSettings } from '../../envoy/catalog';

/** A filter's name (`envoy.filters.http.fault`) or type URL. */
const filter = z.string().min(1).max(300);

/** Settings as JSON of at most this size: a filter's config is a few KiB, a Lua script perhaps more. */
const MAX_SETTINGS_BYTES = 256 * 1024;
const settings = z.unknown().superRefine((v, ctx) => {
  let size: number;
  try {
    size = JSON.stringify(v ?? null).length;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'settings must be JSON' });
    return;
  }
  if (size > MAX_SETTINGS_BYTES)
    ctx.addIssue({
      code: 'custom',
      message: `settings are ${size} bytes of JSON; at most ${MAX_SETTINGS_BYTES}`,
    });
});

export const envoyRouter = router({
  /** Every HTTP filter of the shipped protos: name, config type URL, whether it has a per-route config. */
  filters: viewerProcedure.query(() => {
    const c = envoyCatalog();
    return {
      source: c.source,
      filters: c.filters.map((f) => ({
        name: f.name,
        typeUrl: f.typeUrl,
        hasPerRouteConfig: f.perRoute !== null,
        perRouteTypeUrl: f.perRoute?.typeUrl ?? null,
      })),
    };
  }),
  /** The settings schema of a filter's config, or of its per-route config. */
  schema: viewerProcedure
    .input(z.strictObject({ filter, perRoute: z.boolean().default(false) }))
    .query(({ input }) => {
      const schema = filterSchema(input.filter, { perRoute: input.perRoute });
      if (!schema)
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: input.perRoute
            ? `no per-route config for HTTP filter ${input.filter}`
            : (validateFilterSettings(input.filter, {})[0]?.message ?? `unknown HTTP filter ${input.filter}`),
        });
      return schema;
    }),
  /** Problems of `settings` as the filter's config, each with its path and the closest known name. */
  validate: viewerProcedure
    .input(z.strictObject({ filter, settings }))
    .query(({ input }) => ({ issues: validateFilterSettings(input.filter, input.settings) })),
});
