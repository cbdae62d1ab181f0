/** Type tests: the normalised types the schema DSL infers (checked by `tsc`, run as no-ops by vitest). */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Action,
  Condition,
  Matcher,
  SmartLimitDescriptor,
  SmartLimiterSpec,
  SmartLimiterStatus,
  Target,
} from './index';

describe('inferred SmartLimiter types', () => {
  it('uses the canonical lowerCamel names, with required fields required', () => {
    expectTypeOf<Action>().toEqualTypeOf<{
      quota: string;
      fillInterval: { seconds?: number; nanos?: number };
      strategy?: 'single' | 'average' | 'global';
      headersToAdd?: { key: string; value?: string }[];
    }>();
    expectTypeOf<SmartLimitDescriptor['condition']>().toEqualTypeOf<string>();
    expectTypeOf<Target['direction']>().toEqualTypeOf<'inbound' | 'outbound' | undefined>();
    expectTypeOf<Matcher['matchSource']>().toEqualTypeOf<
      'HeadMatch' | 'QueryMatch' | 'JsonBodyMatch' | 'SourceIpMatch' | undefined
    >();
    expectTypeOf<SmartLimiterSpec['workloadSelector']>().toEqualTypeOf<Record<string, string> | undefined>();
    expectTypeOf<NonNullable<SmartLimiterStatus['conditions']>[number]>().toEqualTypeOf<Condition>();
    expectTypeOf<Condition['status']>().toEqualTypeOf<'True' | 'False' | 'Unknown'>();
  });

  it('has no snake_case spelling in the normalised types', () => {
    expectTypeOf<Action>().not.toHaveProperty('fill_interval');
    expectTypeOf<Matcher>().not.toHaveProperty('exact_match');
  });
});
