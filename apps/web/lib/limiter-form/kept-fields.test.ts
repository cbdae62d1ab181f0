import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { JsonObject } from './json';
import { keptFields } from './kept-fields';
import { newLimiter } from './new-limiter';

describe('keptFields', () => {
  it('names every field the form does not show, as written', () => {
    const written = parse(`apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata:
  name: reviews
  namespace: default
  labels: { team: bookinfo }
  annotations: { owner: erin, governor.io/shadow: 'true', governor.io/clusters: 'east,west' }
spec:
  workload_selector: { app: reviews }
  target: { direction: inbound, port: 9080 }
  host:
  sets:
    _base:
      descriptor:
        - action:
            fillInterval: { seconds: 60 }
            quota: '100'
            headers_to_add: [{ key: x-limited, value: 'yes' }]
          condition: 'true'
          custom_key: k
          match: [{ name: x-user, exact_match: bot, invert_match: true, match_source: HeadMatch }]
          target: { direction: outbound, port: 9080 }
    v1:
      descriptor:
        - action: { fill_interval: { seconds: 1, nanos: 0 }, quota: '1' }
          condition: 'true'
          match: [{ name: x-user, prefix_match: bot }]
`) as JsonObject;
    expect(keptFields(written)).toEqual([
      'metadata.labels',
      'metadata.annotations.owner',
      'spec.workload_selector',
      'spec.target',
      'spec.sets._base.descriptor[0].custom_key',
      'spec.sets._base.descriptor[0].action.headers_to_add',
      'spec.sets._base.descriptor[0].target.direction',
      'spec.sets._base.descriptor[0].match[0].match_source',
      'spec.sets.v1.descriptor[0].match',
    ]);
  });

  it('finds nothing kept in a new policy', () => {
    expect(keptFields(newLimiter({ namespace: 'default', name: 'ratings', port: 9080 }))).toEqual([]);
  });
});
