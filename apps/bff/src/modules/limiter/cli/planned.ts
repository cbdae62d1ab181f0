/** The limiter's part of what the CLI planned from files: SmartLimiters with their renders, and the context. */
import type { SmartLimiter } from '@governor/crd-types';
import type { Planned, PipelineResult } from '../../../framework/cli/plan-files';
import { contextOf, type LimiterPlan } from '../module';
import type { ClusterContext, RenderResult } from '../render';

export interface LimiterResult {
  readonly file: string;
  readonly limiter: SmartLimiter;
  readonly result: RenderResult;
}

export const limiterResults = (plans: readonly Planned[]): LimiterResult[] =>
  plans
    .filter((p) => p.module.name === 'limiter')
    .map((p) => ({
      file: p.file,
      limiter: p.object as SmartLimiter,
      result: (p.plan as LimiterPlan).render,
    }));

/** Every Service, Pod, DestinationRule and ServiceEntry read. */
export const contextOfFiles = (r: PipelineResult): ClusterContext => contextOf(r.snapshot);
