import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  catalogProtoFiles,
  envoyCatalog,
  filterSchema,
  findFilter,
  validateFilterSettings,
  type MessageSchema,
} from './catalog';

const SLIME_PLUGIN = '/work/shared/fixtures/slime/plugin/gateway_rc_patch.ep.yaml';
const fault = 'envoy.filters.http.fault';

describe('the catalog of Envoy HTTP filters', () => {
  it('lists the common filters with their type URLs and per-route configs', () => {
    const byName = new Map(envoyCatalog().filters.map((f) => [f.name, f]));
    const expected: Record<string, [string, string | null]> = {
      fault: ['fault.v3.HTTPFault', 'fault.v3.HTTPFault'],
      rbac: ['rbac.v3.RBAC', 'rbac.v3.RBACPerRoute'],
      cors: ['cors.v3.Cors', 'cors.v3.CorsPolicy'],
      local_ratelimit: ['local_ratelimit.v3.LocalRateLimit', 'local_ratelimit.v3.LocalRateLimit'],
      ratelimit: ['ratelimit.v3.RateLimit', 'ratelimit.v3.RateLimitPerRoute'],
      lua: ['lua.v3.Lua', 'lua.v3.LuaPerRoute'],
      wasm: ['wasm.v3.Wasm', null],
      ext_authz: ['ext_authz.v3.ExtAuthz', 'ext_authz.v3.ExtAuthzPerRoute'],
      router: ['router.v3.Router', null],
      jwt_authn: ['jwt_authn.v3.JwtAuthentication', 'jwt_authn.v3.PerRouteConfig'],
    };
    for (const [short, [message, perRoute]] of Object.entries(expected)) {
      const f = byName.get(`envoy.filters.http.${short}`);
      expect(f, short).toBeDefined();
      expect(f!.typeUrl).toBe(`type.googleapis.com/envoy.extensions.filters.http.${message}`);
      expect(f!.perRoute?.typeUrl ?? null).toBe(
        perRoute && `type.googleapis.com/envoy.extensions.filters.http.${perRoute}`,
      );
    }
    expect(findFilter('type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault')?.name).toBe(
      fault,
    );
    expect(findFilter('type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute')?.name).toBe(
      'envoy.filters.http.lua',
    );
  });

  it('resolves the config message of every filter package the protos hold', () => {
    const c = envoyCatalog();
    // Listed rather than skipped: a package whose config message cannot be told fails here by name.
    expect(c.unresolved).toEqual([]);
    expect(c.filters.length).toBeGreaterThanOrEqual(50);
    expect(c.source).toMatch(/^@grpc\/grpc-js-xds@\d+\.\d+\.\d+$/);
    const unbuildable = c.filters.filter((f) => {
      const s = filterSchema(f.name);
      const p = f.perRoute ? filterSchema(f.name, { perRoute: true }) : true;
      return !s || !s.$defs[f.message] || !p;
    });
    expect(unbuildable.map((f) => f.name)).toEqual([]);
  });

  it("gives every filter the name its proto's [#extension: …] line says", () => {
    const names = new Map<string, string>();
    for (const { path, root } of catalogProtoFiles()) {
      const ext = /\[#extension: ([\w.]+)\]/.exec(readFileSync(join(root, path), 'utf8'))?.[1];
      const pkg = /^package ([\w.]+);/m.exec(readFileSync(join(root, path), 'utf8'))?.[1];
      if (ext && pkg) names.set(pkg, ext);
    }
    const wrong = envoyCatalog()
      .filters.filter((f) => names.has(f.package) && names.get(f.package) !== f.name)
      .map((f) => `${f.name} ≠ ${names.get(f.package)}`);
    expect(wrong).toEqual([]);
  });

  it('loads once, fast enough for the API', () => {
    const c = envoyCatalog();
    expect(c.loadMs).toBeLessThan(5000);
    const started = performance.now();
    for (let i = 0; i < 100; i++) validateFilterSettings(fault, { abort: { http_status: 503 } });
    expect((performance.now() - started) / 100).toBeLessThan(5);
    expect(envoyCatalog()).toBe(c);
  });
});

describe('the settings schema', () => {
  const schema = filterSchema(fault)!;
  const def = (name: string): MessageSchema => schema.$defs[name]!;

  it('describes fields with JSON names, enums, oneofs and well-known types', () => {
    expect(schema.$ref).toBe('#/$defs/envoy.extensions.filters.http.fault.v3.HTTPFault');
    const abort = def('envoy.extensions.filters.http.fault.v3.FaultAbort');
    expect(abort.properties['http_status']).toMatchObject({
      type: 'integer',
      format: 'uint32',
      jsonName: 'httpStatus',
    });
    expect(abort.oneofs['error_type']).toEqual(['http_status', 'grpc_status', 'header_abort']);
    expect(abort.properties['percentage']).toMatchObject({ $ref: '#/$defs/envoy.type.v3.FractionalPercent' });
    expect(def('envoy.type.v3.FractionalPercent').properties['denominator']).toMatchObject({
      type: 'string',
      enum: ['HUNDRED', 'TEN_THOUSAND', 'MILLION'],
    });
    const http = def('envoy.extensions.filters.http.fault.v3.HTTPFault');
    expect(http.properties['max_active_faults']).toMatchObject({
      type: 'integer',
      wellKnown: 'google.protobuf.UInt32Value',
    });
    expect(http.properties['headers']).toMatchObject({ type: 'array', items: { $ref: expect.any(String) } });
    expect(
      def('envoy.extensions.filters.common.fault.v3.FaultDelay').properties['fixed_delay'],
    ).toMatchObject({
      type: 'string',
      format: 'duration',
    });
    const lua = filterSchema('envoy.filters.http.lua')!;
    expect(lua.$defs['envoy.extensions.filters.http.lua.v3.Lua']!.properties['source_codes']).toMatchObject({
      type: 'object',
      additionalProperties: { $ref: '#/$defs/envoy.config.core.v3.DataSource' },
    });
    const wasm = filterSchema('envoy.filters.http.wasm')!;
    expect(wasm.$defs['envoy.extensions.wasm.v3.PluginConfig']!.properties['configuration']).toMatchObject({
      wellKnown: 'google.protobuf.Any',
    });
  });

  it('handles recursive messages (RBAC permissions hold permissions)', () => {
    const rbac = filterSchema('envoy.filters.http.rbac')!;
    expect(rbac.$defs['envoy.config.rbac.v3.Permission']!.properties['not_rule']).toMatchObject({
      $ref: '#/$defs/envoy.config.rbac.v3.Permission',
    });
  });
});

describe('validateFilterSettings', () => {
  it("accepts Slime's plugin fixture (fault abort with a percentage)", () => {
    const plugin = parse(readFileSync(SLIME_PLUGIN, 'utf8')) as {
      spec: { plugins: { name: string; inline: { settings: unknown } }[] };
    };
    const [p] = plugin.spec.plugins;
    expect(p!.name).toBe(fault);
    expect(validateFilterSettings(p!.name, p!.inline.settings)).toEqual([]);
  });

  it('accepts lowerCamel names, durations, wrappers, Any with its @type and enum numbers', () => {
    expect(
      validateFilterSettings(fault, {
        abort: { httpStatus: 503, percentage: { numerator: 5, denominator: 1 } },
        delay: { fixed_delay: '0.5s', percentage: { numerator: 10 } },
        max_active_faults: 100,
      }),
    ).toEqual([]);
    expect(
      validateFilterSettings('envoy.filters.http.local_ratelimit', {
        stat_prefix: 'http_local_rate_limiter',
        token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: '1s' },
        filter_enabled: { runtime_key: 'x', default_value: { numerator: 100, denominator: 'HUNDRED' } },
      }),
    ).toEqual([]);
    expect(
      validateFilterSettings('envoy.filters.http.wasm', {
        config: {
          name: 'x',
          configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '{}' },
          vm_config: { runtime: 'envoy.wasm.runtime.v8', code: { local: { filename: '/x.wasm' } } },
        },
      }),
    ).toEqual([]);
  });

  it('names a misspelt field with its path and the closest field', () => {
    expect(
      validateFilterSettings(fault, { abort: { http_status: 429, percentage: { numerater: 30 } } }),
    ).toEqual([
      {
        path: 'abort.percentage.numerater',
        message: 'unknown field "numerater" of envoy.type.v3.FractionalPercent',
        suggestion: 'numerator',
      },
    ]);
    expect(validateFilterSettings(fault, { abrot: {} })).toEqual([
      expect.objectContaining({ path: 'abrot', suggestion: 'abort' }),
    ]);
  });

  it('lists the allowed values of an enum', () => {
    const [issue, ...rest] = validateFilterSettings(fault, {
      abort: { http_status: 429, percentage: { denominator: 'PERCENT' } },
    });
    expect(rest).toEqual([]);
    expect(issue!.path).toBe('abort.percentage.denominator');
    expect(issue!.message).toContain('HUNDRED, TEN_THOUSAND, MILLION');
    const [near] = validateFilterSettings(fault, { abort: { percentage: { denominator: 'HUNDERD' } } });
    expect(near).toMatchObject({ path: 'abort.percentage.denominator', suggestion: 'HUNDRED' });
  });

  it('reports wrong types, a bad duration and a oneof set twice', () => {
    const issues = validateFilterSettings(fault, {
      abort: { http_status: 'four hundred', grpc_status: 3 },
      delay: { fixed_delay: '5 seconds' },
      headers: { name: 'x' },
      max_active_faults: -1,
    });
    expect(issues.map((i) => i.path)).toEqual([
      'abort.http_status',
      'abort.grpc_status',
      'delay.fixed_delay',
      'headers',
      'max_active_faults',
    ]);
    expect(issues[0]!.message).toContain('expected an integer');
    expect(issues[1]!.message).toContain('both set');
    expect(issues[2]!.message).toContain('"0.5s"');
    expect(issues[3]!.message).toContain('expected a list');
    expect(issues[4]!.message).toContain('out of range');
    expect(validateFilterSettings(fault, { abort: { http_status: 1, httpStatus: 2 } })).toEqual([
      expect.objectContaining({ path: 'abort.httpStatus', message: expect.stringContaining('set twice') }),
    ]);
    expect(validateFilterSettings(fault, 'abort')).toEqual([
      expect.objectContaining({ path: '', message: expect.stringContaining('expected an object') }),
    ]);
  });

  it('checks the message an Any names, and paths into lists', () => {
    const issues = validateFilterSettings('envoy.filters.http.rbac', {
      rules: {
        action: 'ALLOW',
        policies: {
          p: {
            permissions: [{ any: true }, { header: { name: ':path', exact_mach: '/' } }],
            principals: [{ any: true }],
          },
        },
      },
    });
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'rules.policies.p.permissions[1].header.exact_mach',
        suggestion: 'exact_match',
      }),
    ]);
    expect(
      validateFilterSettings('envoy.filters.http.composite', {}).length +
        validateFilterSettings('envoy.filters.http.wasm', {
          config: { configuration: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: 3 } },
        }).length,
    ).toBe(1);
  });

  it('names the closest filters for an unknown one, and old names their filter', () => {
    expect(validateFilterSettings('envoy.filters.http.fautl', {})).toEqual([
      expect.objectContaining({
        path: '',
        suggestion: fault,
        message: expect.stringContaining('unknown HTTP filter'),
      }),
    ]);
    expect(validateFilterSettings('envoy.lua', {})).toEqual([
      expect.objectContaining({ suggestion: 'envoy.filters.http.lua' }),
    ]);
    expect(
      validateFilterSettings('type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFalt', {}),
    ).toEqual([
      expect.objectContaining({
        suggestion: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      }),
    ]);
  });
});
