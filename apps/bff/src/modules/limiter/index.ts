/** The limiter module: SmartLimiter (Slime's adaptive rate limiting) → EnvoyFilters and engine rules. */
import type { ModuleDefinition } from '../../framework/registry';
import { replayCommand, REPLAY_HELP } from './cli/replay-command';
import { limiterModule, type LimiterModule } from './module';
import { DEFAULT_RATE_LIMIT_SERVICE, type RateLimitServiceOptions } from './render';
import { replayRouter } from './replay-router';
import { policiesRouter } from './policies-router';
import { limiterExamples } from './examples';
import { LimiterService } from './service';
import { LIMITER_MODULE } from './settings';

/** Slime's `rls` (service and port) and `domain` settings over the product's rate-limit service. */
function rateLimitServiceOf(
  general: Readonly<Record<string, unknown>>,
  base: RateLimitServiceOptions,
): RateLimitServiceOptions {
  const rls = general.rls as { service?: string; port?: number } | undefined;
  const domain = typeof general.domain === 'string' && general.domain !== '' ? general.domain : base.domain;
  const clusterName = rls?.service && rls.port ? `outbound|${rls.port}||${rls.service}` : base.clusterName;
  return { clusterName, domain };
}

export const limiter = {
  name: 'limiter',
  summary: 'adaptive rate limiting: SmartLimiter → EnvoyFilter, local and global limits',
  kind: 'SmartLimiter',
  settings: LIMITER_MODULE,
  create: ({ metrics, options, settings }) =>
    limiterModule({
      metrics,
      rateLimitService: rateLimitServiceOf(
        settings.general,
        (options.rateLimitService as RateLimitServiceOptions | undefined) ?? DEFAULT_RATE_LIMIT_SERVICE,
      ),
      ...(options.metricsUnavailable
        ? { metricsUnavailable: options.metricsUnavailable as 'keep' | 'open' }
        : {}),
    }),
  examples: limiterExamples,
  service: (plane, module) => new LimiterService(plane, module as LimiterModule),
  commands: {
    replay: {
      summary: 'Replay a trace of requests through the rendered limits (what-if)',
      help: REPLAY_HELP,
      run: replayCommand,
    },
  },
  api: { policies: policiesRouter, replay: replayRouter },
} as const satisfies ModuleDefinition<LimiterService> & { api: unknown };

export { LimiterService };
