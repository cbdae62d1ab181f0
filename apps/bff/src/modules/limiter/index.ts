/** The limiter module: SmartLimiter (Slime's adaptive rate limiting) → EnvoyFilters and engine rules. */
import { defineModule, serviceOf } from '../../framework/registry';
import { replayCommand, REPLAY_HELP } from './cli/replay-command';
import { createLimiterModule } from './module';
import { replayRouter } from './replay-router';
import { policiesRouter } from './policies-router';
import { limiterExamples } from './examples';
import { LimiterService } from './service';
import { LIMITER_MODULE } from './settings';

export const limiter = defineModule({
  name: 'limiter',
  summary: 'adaptive rate limiting: SmartLimiter → EnvoyFilter, local and global limits',
  kind: 'SmartLimiter',
  settings: LIMITER_MODULE,
  create: createLimiterModule,
  examples: limiterExamples,
  service: serviceOf(LimiterService),
  commands: {
    replay: {
      summary: 'Replay a trace of requests through the rendered limits (what-if)',
      help: REPLAY_HELP,
      run: replayCommand,
    },
  },
  api: { policies: policiesRouter, replay: replayRouter },
});

export { LimiterService };
