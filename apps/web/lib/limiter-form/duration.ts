/** Fill intervals as the form shows them: decimal seconds, exact to the nanosecond (no float rounding). */
import type { Duration } from '@governor/crd-types';

export function secondsText(d: Duration | undefined): string {
  if (!d) return '';
  const seconds = d.seconds ?? 0;
  const nanos = d.nanos ?? 0;
  if (nanos === 0) return String(seconds);
  return `${seconds}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
}

/** Decimal seconds as typed, or undefined unless they are a positive duration. */
export function parseSecondsText(text: string): Duration | undefined {
  const m = /^\s*(\d+)(?:\.(\d{0,9}))?\s*$/.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[1]);
  const nanos = Number((m[2] ?? '').padEnd(9, '0'));
  if (!Number.isSafeInteger(seconds) || (seconds === 0 && nanos === 0)) return undefined;
  return nanos === 0 ? { seconds } : { seconds, nanos };
}
