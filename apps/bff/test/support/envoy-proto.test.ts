import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyValidationIssue } from './envoy-proto';
import {
  assertValidEnvoyJson,
  envoyProtoRoot,
  lookupEnvoyMessageType,
  validateEnvoyJson,
  validateEnvoyYaml,
} from './envoy-proto';

const LOCAL_RATE_LIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const GLOBAL_RATE_LIMIT = 'envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const ROUTE_RATE_LIMIT = 'envoy.config.route.v3.RateLimit';
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';

const camelLocalRateLimit = {
  statPrefix: 'http_local_rate_limiter',
  tokenBucket: { maxTokens: 10, tokensPerFill: 10, fillInterval: '1s' },
  filterEnabled: {
    runtimeKey: 'local_rate_limit_enabled',
    defaultValue: { numerator: 100, denominator: 'HUNDRED' },
  },
  filterEnforced: {
    runtimeKey: 'local_rate_limit_enforced',
    defaultValue: { numerator: 100, denominator: 'HUNDRED' },
  },
  descriptors: [
    {
      entries: [{ key: 'generic_key', value: 'x' }],
      tokenBucket: { maxTokens: 5, tokensPerFill: 5, fillInterval: '60s' },
    },
  ],
};

const snakeLocalRateLimit = {
  stat_prefix: 'http_local_rate_limiter',
  token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: '1s' },
  filter_enabled: {
    runtime_key: 'local_rate_limit_enabled',
    default_value: { numerator: 100, denominator: 'HUNDRED' },
  },
  filter_enforced: {
    runtime_key: 'local_rate_limit_enforced',
    default_value: { numerator: 100, denominator: 'HUNDRED' },
  },
  descriptors: [
    {
      entries: [{ key: 'generic_key', value: 'x' }],
      token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: '0.5s' },
    },
  ],
};

/** The issue at `path`, failing the test with all issues when there is none. */
function issueAt(issues: EnvoyValidationIssue[], path: string): EnvoyValidationIssue {
  const found = issues.find((i) => i.path === path);
  if (!found) throw new Error(`no issue at "${path}"; issues: ${JSON.stringify(issues, null, 2)}`);
  return found;
}

beforeAll(() => {
  envoyProtoRoot(); // load the protos once for the whole file
});

describe('loading', () => {
  it('resolves the rate limiting types, TypedStructs and the rate limit service messages', () => {
    for (const name of [
      LOCAL_RATE_LIMIT,
      GLOBAL_RATE_LIMIT,
      ROUTE_RATE_LIMIT,
      'envoy.config.route.v3.Route',
      'envoy.config.route.v3.VirtualHost',
      HTTP_FILTER,
      'udpa.type.v1.TypedStruct',
      'xds.type.v3.TypedStruct',
      'envoy.service.ratelimit.v3.RateLimitRequest',
      'envoy.service.ratelimit.v3.RateLimitResponse',
    ]) {
      expect(lookupEnvoyMessageType(name).fullName).toBe(`.${name}`);
    }
  });

  it('loads other Envoy packages on demand and rejects unknown type names', () => {
    expect(
      lookupEnvoyMessageType('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router').name,
    ).toBe('Router');
    expect(() => validateEnvoyJson('envoy.nope.v3.Missing', {})).toThrow(/unknown message type/);
  });
});

describe('LocalRateLimit', () => {
  it('accepts lowerCamel JSON names', () => {
    expect(validateEnvoyJson(LOCAL_RATE_LIMIT, camelLocalRateLimit)).toEqual([]);
  });

  it('accepts proto (snake_case) names', () => {
    expect(validateEnvoyJson(LOCAL_RATE_LIMIT, snakeLocalRateLimit)).toEqual([]);
    expect(() => assertValidEnvoyJson(LOCAL_RATE_LIMIT, snakeLocalRateLimit)).not.toThrow();
  });

  it('accepts YAML', () => {
    const yaml = [
      'stat_prefix: http_local_rate_limiter',
      'token_bucket: {max_tokens: 10, tokens_per_fill: 10, fill_interval: 60s}',
      'descriptors:',
      '  - entries: [{key: generic_key, value: x}]',
      '    token_bucket: {max_tokens: 1, fill_interval: 60s}',
    ].join('\n');
    expect(validateEnvoyYaml(LOCAL_RATE_LIMIT, yaml)).toEqual([]);
  });

  it('reports unknown fields under the key as written', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      ...snakeLocalRateLimit,
      token_bucket: { ...snakeLocalRateLimit.token_bucket, maxTokenz: 3 },
    });
    expect(issueAt(issues, 'token_bucket.maxTokenz').message).toMatch(
      /unknown field "maxTokenz" in envoy\.type\.v3\.TokenBucket/,
    );
    expect(issues).toHaveLength(1);
  });

  it('reports the same field given in both spellings', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, { ...snakeLocalRateLimit, statPrefix: 'other' });
    expect(issueAt(issues, 'stat_prefix').message).toMatch(/given twice/);
  });

  it('reports an enum value the enum does not define', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      ...camelLocalRateLimit,
      filterEnabled: { runtimeKey: 'k', defaultValue: { numerator: 100, denominator: 'HUNDREDS' } },
    });
    expect(issueAt(issues, 'filter_enabled.default_value.denominator').message).toMatch(
      /HUNDREDS.*HUNDRED, TEN_THOUSAND, MILLION/,
    );
    expect(issues).toHaveLength(1);
    expect(validateEnvoyJson('envoy.type.v3.FractionalPercent', { numerator: 1, denominator: 2 })).toEqual(
      [],
    );
    expect(
      issueAt(validateEnvoyJson('envoy.type.v3.FractionalPercent', { denominator: 7 }), 'denominator')
        .message,
    ).toMatch(/not a number/);
  });

  it('applies numeric validate rules (max_tokens > 0) in descriptors', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      ...camelLocalRateLimit,
      descriptors: [
        { entries: [{ key: 'generic_key', value: 'x' }], tokenBucket: { maxTokens: 0, fillInterval: '1s' } },
      ],
    });
    expect(issueAt(issues, 'descriptors[0].token_bucket.max_tokens').message).toMatch(
      /greater than 0, got 0 \[validate.rules uint32.gt\]/,
    );
    expect(issues).toHaveLength(1);
  });

  it('applies wrapper rules (tokens_per_fill > 0) only when set', () => {
    const bucket = { max_tokens: 1, fill_interval: '1s' };
    expect(validateEnvoyJson('envoy.type.v3.TokenBucket', bucket)).toEqual([]);
    expect(
      issueAt(
        validateEnvoyJson('envoy.type.v3.TokenBucket', { ...bucket, tokens_per_fill: 0 }),
        'tokens_per_fill',
      ).message,
    ).toMatch(/greater than 0/);
    expect(validateEnvoyJson('envoy.type.v3.TokenBucket', { ...bucket, tokens_per_fill: null })).toEqual([]);
  });

  it('reports missing required token bucket fields', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, { stat_prefix: 'p', token_bucket: {} });
    expect(issueAt(issues, 'token_bucket.max_tokens').message).toMatch(/greater than 0, got 0/);
    expect(issueAt(issues, 'token_bucket.fill_interval').message).toMatch(
      /required \[validate.rules duration.required\]/,
    );
    expect(issues).toHaveLength(2);
  });

  it('reports an empty stat_prefix (string.min_len)', () => {
    expect(issueAt(validateEnvoyJson(LOCAL_RATE_LIMIT, {}), 'stat_prefix').message).toMatch(
      /at least 1 characters/,
    );
  });

  it('rejects the {seconds, nanos} Duration object form and malformed durations', () => {
    const objectForm = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      ...camelLocalRateLimit,
      tokenBucket: { maxTokens: 1, fillInterval: { seconds: 60 } },
    });
    expect(issueAt(objectForm, 'token_bucket.fill_interval').message).toMatch(
      /\{seconds, nanos\} object form/,
    );
    expect(objectForm).toHaveLength(1);
    for (const bad of ['60', '1m', '1.s', '-', 60]) {
      expect(
        issueAt(
          validateEnvoyJson('envoy.type.v3.TokenBucket', { max_tokens: 1, fill_interval: bad }),
          'fill_interval',
        ).message,
      ).toMatch(/Duration/);
    }
  });

  it('applies duration.gt to a zero fill interval', () => {
    const issues = validateEnvoyJson('envoy.type.v3.TokenBucket', { max_tokens: 1, fill_interval: '0s' });
    expect(issueAt(issues, 'fill_interval').message).toMatch(
      /greater than 0s, got 0s \[validate.rules duration.gt\]/,
    );
  });

  it('reports scalars of the wrong JSON type', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      ...camelLocalRateLimit,
      statPrefix: 42,
      tokenBucket: { maxTokens: '10', tokensPerFill: 1.5, fillInterval: '1s' },
      localRateLimitPerDownstreamConnection: 'yes',
      stage: -1,
      descriptors: {},
    });
    expect(issueAt(issues, 'stat_prefix').message).toMatch(/expected string, got number 42/);
    expect(issueAt(issues, 'token_bucket.tokens_per_fill').message).toMatch(/integral uint32/);
    expect(issueAt(issues, 'local_rate_limit_per_downstream_connection').message).toMatch(/expected bool/);
    expect(issueAt(issues, 'stage').message).toMatch(/out of range/);
    expect(issueAt(issues, 'descriptors').message).toMatch(/expected a JSON array/);
    // A decimal string is an accepted spelling of an integer.
    expect(issues.some((i) => i.path === 'token_bucket.max_tokens')).toBe(false);
    expect(issues).toHaveLength(5);
  });

  it('checks repeated.min_items and enum.defined_only', () => {
    const issues = validateEnvoyJson(LOCAL_RATE_LIMIT, {
      stat_prefix: 'p',
      descriptors: [{ entries: [], token_bucket: { max_tokens: 1, fill_interval: '1s' } }],
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      vh_rate_limits: 9,
    });
    expect(issueAt(issues, 'descriptors[0].entries').message).toMatch(/at least 1 items/);
    expect(issueAt(issues, 'vh_rate_limits').message).toMatch(/not a number/);
    expect(issues).toHaveLength(2);
  });

  it('assertValidEnvoyJson lists every issue', () => {
    expect(() => assertValidEnvoyJson(LOCAL_RATE_LIMIT, { statPrefix: '', bogus: 1 })).toThrow(
      /Invalid envoy\.extensions\.filters\.http\.local_ratelimit\.v3\.LocalRateLimit \(2 issues\):\n {2}- bogus: unknown field[\s\S]*- stat_prefix: /,
    );
  });
});

describe('route RateLimit', () => {
  const actions = [
    { generic_key: { descriptor_value: 'a' } },
    { header_value_match: { descriptor_value: 'b', headers: [{ name: ':method', exact_match: 'GET' }] } },
    { remote_address: {} },
    {
      query_parameter_value_match: {
        descriptor_value: 'c',
        query_parameters: [{ name: 'foo', string_match: { prefix: 'bar' } }],
      },
    },
  ];

  it('accepts the actions Governor renders (deprecated exact_match included)', () => {
    expect(validateEnvoyJson(ROUTE_RATE_LIMIT, { actions })).toEqual([]);
    expect(
      validateEnvoyJson(ROUTE_RATE_LIMIT, {
        stage: 0,
        actions: [{ genericKey: { descriptorValue: 'a', descriptorKey: 'k' } }],
      }),
    ).toEqual([]);
  });

  it('requires at least one action and an action specifier', () => {
    expect(issueAt(validateEnvoyJson(ROUTE_RATE_LIMIT, { actions: [] }), 'actions').message).toMatch(
      /at least 1 items/,
    );
    expect(issueAt(validateEnvoyJson(ROUTE_RATE_LIMIT, { actions: [{}] }), 'actions[0]').message).toMatch(
      /oneof action_specifier is required/,
    );
  });

  it('reports two members of one oneof', () => {
    const issues = validateEnvoyJson(ROUTE_RATE_LIMIT, {
      actions: [{ generic_key: { descriptor_value: 'a' }, remote_address: {} }],
    });
    expect(issueAt(issues, 'actions[0]').message).toMatch(
      /at most one of oneof action_specifier.*remote_address.*generic_key|at most one of oneof action_specifier.*generic_key.*remote_address/,
    );
    const matcher = validateEnvoyJson('envoy.config.route.v3.HeaderMatcher', {
      name: ':method',
      exact_match: 'GET',
      prefix_match: 'G',
    });
    expect(issueAt(matcher, '').message).toMatch(/oneof header_match_specifier/);
  });

  it('checks nested string rules and header names', () => {
    const issues = validateEnvoyJson(ROUTE_RATE_LIMIT, {
      actions: [
        { generic_key: { descriptor_value: '' } },
        {
          header_value_match: {
            descriptor_value: 'b',
            headers: [{ name: 'bad\nheader', exact_match: 'GET' }],
          },
        },
        {
          query_parameter_value_match: {
            descriptor_value: 'c',
            query_parameters: [{ name: 'foo', string_match: { prefix: 'bar', sufix: 'x' } }],
          },
        },
      ],
    });
    expect(issueAt(issues, 'actions[0].generic_key.descriptor_value').message).toMatch(/min_len/);
    expect(issueAt(issues, 'actions[1].header_value_match.headers[0].name').message).toMatch(
      /HTTP header name/,
    );
    expect(
      issueAt(issues, 'actions[2].query_parameter_value_match.query_parameters[0].string_match.sufix')
        .message,
    ).toMatch(/unknown field/);
    expect(issues).toHaveLength(3);
  });

  it('validates routes and virtual hosts carrying rate limits', () => {
    const route = { match: { prefix: '/' }, route: { cluster: 'backend', rate_limits: [{ actions }] } };
    expect(validateEnvoyJson('envoy.config.route.v3.Route', route)).toEqual([]);
    expect(
      validateEnvoyJson('envoy.config.route.v3.VirtualHost', {
        name: 'vh',
        domains: ['*'],
        routes: [route],
        rate_limits: [{ actions }],
      }),
    ).toEqual([]);
    const issues = validateEnvoyJson('envoy.config.route.v3.VirtualHost', {
      name: 'vh',
      domains: [],
      routes: [{ ...route, match: {} }],
    });
    expect(issueAt(issues, 'domains').message).toMatch(/at least 1 items/);
    expect(issueAt(issues, 'routes[0].match').message).toMatch(/oneof path_specifier is required/);
  });
});

describe('HttpFilter', () => {
  const typedStructFilter = (
    value: unknown,
    typeUrl = `type.googleapis.com/${LOCAL_RATE_LIMIT}`,
  ): unknown => ({
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: typeUrl, value },
  });

  it('accepts a TypedStruct carrying a LocalRateLimit', () => {
    expect(
      validateEnvoyJson(HTTP_FILTER, typedStructFilter({ stat_prefix: 'http_local_rate_limiter' })),
    ).toEqual([]);
    expect(validateEnvoyJson(HTTP_FILTER, typedStructFilter(snakeLocalRateLimit))).toEqual([]);
  });

  it('validates the TypedStruct value against type_url, with paths into it', () => {
    const issues = validateEnvoyJson(
      HTTP_FILTER,
      typedStructFilter({
        stat_prefix: 'x',
        token_bucket: { max_tokens: 1, fill_interval: '1s', bogus: true },
      }),
    );
    expect(issueAt(issues, 'typed_config.value.token_bucket.bogus').message).toMatch(/unknown field/);
    expect(issues).toHaveLength(1);
    expect(
      issueAt(validateEnvoyJson(HTTP_FILTER, typedStructFilter({})), 'typed_config.value.stat_prefix')
        .message,
    ).toMatch(/min_len/);
    expect(
      issueAt(
        validateEnvoyJson(HTTP_FILTER, typedStructFilter({}, 'type.googleapis.com/envoy.Nope')),
        'typed_config.type_url',
      ).message,
    ).toMatch(/unknown type/);
  });

  it('accepts the xds TypedStruct too', () => {
    const filter = {
      name: 'envoy.filters.http.local_ratelimit',
      typed_config: {
        '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
        type_url: `type.googleapis.com/${LOCAL_RATE_LIMIT}`,
        value: { stat_prefix: 'x', stage: 11 },
      },
    };
    expect(issueAt(validateEnvoyJson(HTTP_FILTER, filter), 'typed_config.value.stage').message).toMatch(
      /less than or equal to 10/,
    );
  });

  it('validates an Any holding the configuration directly', () => {
    const filter = {
      name: 'envoy.filters.http.local_ratelimit',
      typed_config: { '@type': `type.googleapis.com/${LOCAL_RATE_LIMIT}`, ...camelLocalRateLimit },
    };
    expect(validateEnvoyJson(HTTP_FILTER, filter)).toEqual([]);
    const router = {
      name: 'envoy.filters.http.router',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
    };
    expect(validateEnvoyJson(HTTP_FILTER, router)).toEqual([]);
    const bad = {
      name: 'x',
      typed_config: {
        '@type': `type.googleapis.com/${LOCAL_RATE_LIMIT}`,
        statPrefix: 'x',
        tokenBucket: { maxTokens: 0, fillInterval: '1s' },
      },
    };
    expect(
      issueAt(validateEnvoyJson(HTTP_FILTER, bad), 'typed_config.token_bucket.max_tokens').message,
    ).toMatch(/greater than 0/);
  });

  it('reports a missing or unknown @type', () => {
    expect(
      issueAt(
        validateEnvoyJson(HTTP_FILTER, { name: 'x', typed_config: { stat_prefix: 'x' } }),
        'typed_config.@type',
      ).message,
    ).toMatch(/needs "@type"/);
    expect(
      issueAt(
        validateEnvoyJson(HTTP_FILTER, {
          name: 'x',
          typed_config: { '@type': 'type.googleapis.com/envoy.Nope' },
        }),
        'typed_config.@type',
      ).message,
    ).toMatch(/unknown type "envoy.Nope"/);
  });

  it('uses the {"@type", "value"} form for well-known types inside an Any', () => {
    expect(
      validateEnvoyJson('google.protobuf.Any', {
        '@type': 'type.googleapis.com/google.protobuf.Duration',
        value: '1s',
      }),
    ).toEqual([]);
    expect(
      issueAt(
        validateEnvoyJson('google.protobuf.Any', {
          '@type': 'type.googleapis.com/google.protobuf.Duration',
          seconds: 1,
        }),
        'seconds',
      ).message,
    ).toMatch(/only "value"/);
  });
});

describe('global RateLimit filter', () => {
  const config = {
    domain: 'governor',
    failure_mode_deny: false,
    rate_limit_service: {
      grpc_service: {
        envoy_grpc: { cluster_name: 'outbound|8081||governor-rls.governor-system.svc.cluster.local' },
      },
      transport_api_version: 'V3',
    },
  };

  it('accepts the configuration Governor renders', () => {
    expect(validateEnvoyJson(GLOBAL_RATE_LIMIT, config)).toEqual([]);
    expect(
      validateEnvoyJson(GLOBAL_RATE_LIMIT, { ...config, timeout: '0.25s', request_type: 'both', stage: 0 }),
    ).toEqual([]);
  });

  it('checks message.required, string.in and enum values', () => {
    const issues = validateEnvoyJson(GLOBAL_RATE_LIMIT, { domain: 'governor', request_type: 'sometimes' });
    expect(issueAt(issues, 'rate_limit_service').message).toMatch(
      /required \[validate.rules message.required\]/,
    );
    expect(issueAt(issues, 'request_type').message).toMatch(/must be one of/);
    const badVersion = validateEnvoyJson(GLOBAL_RATE_LIMIT, {
      ...config,
      rate_limit_service: { ...config.rate_limit_service, transport_api_version: 'V4' },
    });
    expect(issueAt(badVersion, 'rate_limit_service.transport_api_version').message).toMatch(
      /invalid envoy.config.core.v3.ApiVersion value "V4"/,
    );
  });
});

describe('proto3 JSON details', () => {
  it('accepts 64-bit integers as numbers or decimal strings, within range', () => {
    const type = 'envoy.type.v3.Int64Range';
    expect(validateEnvoyJson(type, { start: '-9223372036854775808', end: 5 })).toEqual([]);
    expect(issueAt(validateEnvoyJson(type, { start: '9223372036854775808' }), 'start').message).toMatch(
      /out of range/,
    );
    expect(issueAt(validateEnvoyJson(type, { start: '1.5' }), 'start').message).toMatch(/decimal string/);
  });

  it('checks Struct/Value content, maps and wrappers', () => {
    expect(
      validateEnvoyJson('envoy.config.core.v3.Metadata', {
        filter_metadata: { governor: { a: [1, 'x', null, { b: true }] } },
      }),
    ).toEqual([]);
    expect(
      issueAt(
        validateEnvoyJson('envoy.config.core.v3.Metadata', { filter_metadata: { governor: 'x' } }),
        'filter_metadata["governor"]',
      ).message,
    ).toMatch(/Struct/);
    expect(issueAt(validateEnvoyJson('google.protobuf.Value', { a: [Number.NaN] }), 'a[0]').message).toMatch(
      /not a JSON number/,
    );
    expect(
      issueAt(
        validateEnvoyJson(LOCAL_RATE_LIMIT, {
          stat_prefix: 'x',
          always_consume_default_token_bucket: 'true',
        }),
        'always_consume_default_token_bucket',
      ).message,
    ).toMatch(/BoolValue/);
  });

  it('checks strict HTTP header names and honours ignore_empty', () => {
    const type = 'envoy.config.core.v3.UpstreamHttpProtocolOptions';
    expect(validateEnvoyJson(type, { override_auto_sni_header: 'x-sni' })).toEqual([]);
    expect(validateEnvoyJson(type, { override_auto_sni_header: '' })).toEqual([]);
    expect(
      issueAt(validateEnvoyJson(type, { override_auto_sni_header: 'x sni' }), 'override_auto_sni_header')
        .message,
    ).toMatch(/HTTP header name/);
  });

  it('treats null as unset', () => {
    expect(
      validateEnvoyJson(LOCAL_RATE_LIMIT, {
        ...snakeLocalRateLimit,
        filter_enforced: null,
        descriptors: null,
      }),
    ).toEqual([]);
    expect(
      issueAt(
        validateEnvoyJson(GLOBAL_RATE_LIMIT, { domain: 'x', rate_limit_service: null }),
        'rate_limit_service',
      ).message,
    ).toMatch(/required/);
  });

  it('rejects non-objects where a message is expected', () => {
    expect(issueAt(validateEnvoyJson(LOCAL_RATE_LIMIT, ['x']), '').message).toMatch(/expected a JSON object/);
    expect(
      issueAt(validateEnvoyJson(LOCAL_RATE_LIMIT, { stat_prefix: 'x', token_bucket: 'fast' }), 'token_bucket')
        .message,
    ).toMatch(/expected a JSON object/);
  });

  it('validates rate limit service messages', () => {
    expect(
      validateEnvoyJson('envoy.service.ratelimit.v3.RateLimitRequest', {
        domain: 'governor',
        descriptors: [{ entries: [{ key: 'generic_key', value: 'x' }] }],
        hits_addend: 1,
      }),
    ).toEqual([]);
    expect(
      validateEnvoyJson('envoy.service.ratelimit.v3.RateLimitResponse', {
        overall_code: 'OVER_LIMIT',
        statuses: [
          {
            code: 'OVER_LIMIT',
            current_limit: { requests_per_unit: 10, unit: 'MINUTE' },
            limit_remaining: 0,
            duration_until_reset: '30s',
          },
        ],
      }),
    ).toEqual([]);
  });
});
