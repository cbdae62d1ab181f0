'use client';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface WhatIf {
  readonly summary: { readonly requests: number; readonly allowed: number; readonly limited: number };
  /** Allowed and limited requests per second of the replay. */
  readonly seconds: readonly {
    readonly second: number;
    readonly allowed: number;
    readonly limited: number;
  }[];
}

/** The last minute of traffic replayed through the policy as edited. */
export function WhatIfSection({ result }: { result: WhatIf }) {
  const { summary } = result;
  return (
    <section aria-labelledby="whatif-heading">
      <h3 id="whatif-heading" className="font-medium">
        What if: the last 60 s of traffic through this policy
      </h3>
      <p className="text-sm">
        {summary.requests} requests: {summary.allowed} allowed, {summary.limited} limited.
      </p>
      <div
        className="h-48"
        role="img"
        aria-label={`Replay: ${summary.allowed} allowed, ${summary.limited} limited`}
      >
        <ResponsiveContainer>
          <BarChart data={[...result.seconds]}>
            <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
            <XAxis dataKey="second" />
            <YAxis />
            <Tooltip />
            <Legend />
            <Bar dataKey="allowed" stackId="1" fill="#10b981" isAnimationActive={false} />
            <Bar dataKey="limited" stackId="1" fill="#f87171" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}
