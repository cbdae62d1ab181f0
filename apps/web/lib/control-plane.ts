/**
 * Reads what the BFF says about itself (`GET /api/info`). Runs on the dashboard's server only: the
 * browser never talks to the BFF directly.
 */

/** The BFF's `/api/info` answer, as this dashboard understands it. */
export interface ControlPlaneInfo {
  name: string;
  version: string;
  mode: 'embedded' | 'kubernetes';
  startedAt: string;
}

export type ControlPlaneStatus =
  | { connected: true; bffUrl: string; info: ControlPlaneInfo }
  | { connected: false; bffUrl: string; reason: string };

export const DEFAULT_BFF_URL = 'http://127.0.0.1:4000';

const TIMEOUT_MS = 3_000;

/** The BFF's base URL, from `GOVERNOR_BFF_URL` (set by ./scripts/start), without a trailing slash. */
export function bffUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.GOVERNOR_BFF_URL?.trim();
  return (configured === undefined || configured === '' ? DEFAULT_BFF_URL : configured).replace(/\/+$/, '');
}

/** Asks the BFF for its info. Never throws: every failure becomes a `reason` a person can act on. */
export async function fetchControlPlaneStatus(bffUrl: string): Promise<ControlPlaneStatus> {
  if (!URL.canParse(`${bffUrl}/api/info`)) {
    return { connected: false, bffUrl, reason: 'GOVERNOR_BFF_URL is not a valid URL' };
  }
  let response: Response;
  try {
    response = await fetch(`${bffUrl}/api/info`, {
      cache: 'no-store',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    return { connected: false, bffUrl, reason: describeFetchError(error) };
  }
  if (!response.ok) {
    return { connected: false, bffUrl, reason: `/api/info answered HTTP ${response.status}` };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return { connected: false, bffUrl, reason: '/api/info did not answer with JSON' };
  }
  if (!isControlPlaneInfo(body)) {
    return { connected: false, bffUrl, reason: '/api/info answered, but not with Governor info' };
  }
  return { connected: true, bffUrl, info: body };
}

function isControlPlaneInfo(value: unknown): value is ControlPlaneInfo {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    record.name === 'governor' &&
    typeof record.version === 'string' &&
    (record.mode === 'embedded' || record.mode === 'kubernetes') &&
    typeof record.startedAt === 'string'
  );
}

function describeFetchError(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return `no answer within ${TIMEOUT_MS / 1000} s`;
  }
  if (!(error instanceof Error)) return String(error);
  // Node's fetch reports network failures as "fetch failed", with the socket error as its cause.
  // When every address of a name fails, the cause is an AggregateError whose message may be empty.
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return cause.message !== '' ? cause.message : (code ?? error.message);
  }
  return error.message;
}
