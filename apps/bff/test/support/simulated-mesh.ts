/** The demo's Bookinfo mesh in the simulator, as the simulator's tests drive it. */
import { readFileSync } from 'node:fs';
import { Simulator, type SimulatorOptions } from '../../src/simulator/simulator';
import { BOOKINFO_CALLS } from '../../src/simulator/traffic';
import { parseExposition } from './exposition';
import { contextOf, loadObjects } from './fixtures';

const bookinfoText = readFileSync(new URL('../../src/demo/bookinfo.yaml', import.meta.url), 'utf8');

/** The demo's Bookinfo objects as the simulator reads them. */
export const bookinfoMesh = contextOf(loadObjects({ text: bookinfoText }));

/** Bookinfo's calls with productpage at a steady 50 requests a second, from time 0. */
export function bookinfoSimulator(seed: number, options: Partial<SimulatorOptions> = {}): Simulator {
  return new Simulator({
    context: bookinfoMesh,
    startMs: 0,
    seed,
    loads: { productpage: { kind: 'steady', rps: 50 } },
    calls: BOOKINFO_CALLS,
    ...options,
  });
}

/** Steps the simulator through that many seconds. */
export function runFor(sim: Simulator, seconds: number): void {
  const end = sim.nowMs + seconds * 1000;
  while (sim.nowMs < end) sim.step();
}

/** `istio_requests_total` summed over the samples with these labels. */
export const requestCount = (sim: Simulator, labels: Record<string, string>): number =>
  parseExposition(sim.renderMetrics())
    .samples.filter(
      (s) => s.name === 'istio_requests_total' && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )
    .reduce((n, s) => n + s.value, 0);
