/** The limiter module: SmartLimiter (Slime's adaptive rate limiting) → EnvoyFilters and engine rules. */
import type { ModuleDefinition } from '../../framework/registry';
import { replayCommand, REPLAY_HELP } from './cli/replay-command';
import { limiterModule, type LimiterModule } from './module';
import type { RateLimitServiceOptions } from './render';
import { policiesRouter } from './router';
import { LimiterService } from './service';

export const limiter = {
  name: 'limiter',
  summary: 'adaptive rate limiting: SmartLimiter → EnvoyFilter, local and global limits',
  kind: 'SmartLimiter',
  create: ({ metrics, options }) =>
    limiterModule({
      metrics,
      ...(options.rateLimitService
        ? { rateLimitService: options.rateLimitService as RateLimitServiceOptions }
        : {}),
      ...(options.metricsUnavailable
        ? { metricsUnavailable: options.metricsUnavailable as 'keep' | 'open' }
        : {}),
    }),
  service: (plane, module) => new LimiterService(plane, module as LimiterModule),
  commands: {
    replay: {
      summary: 'Replay a trace of requests through the rendered limits (what-if)',
      help: REPLAY_HELP,
      run: replayCommand,
    },
  },
  api: { key: 'policies', router: policiesRouter },
} as const satisfies ModuleDefinition<LimiterService> & { api: unknown };

export { LimiterService };
