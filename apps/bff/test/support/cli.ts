/** The `governor` command line run in-process, as the binary runs it, with its output kept in strings. */
import { main, type CliIo } from '../../src/cli/main';
import { slimeFixturesDir } from './fixtures';

export interface CliOutput {
  stdout: string;
  stderr: string;
}

/**
 * Streams that append to `out`, with paths relative to Slime's fixtures; `stdin` is standard input's whole
 * text, `signal` ends a long-running command.
 */
export function capturedIo(options: { stdin?: string; signal?: AbortSignal } = {}): {
  out: CliOutput;
  io: CliIo;
} {
  const out: CliOutput = { stdout: '', stderr: '' };
  const { stdin, signal } = options;
  return {
    out,
    io: {
      cwd: slimeFixturesDir,
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
      ...(stdin !== undefined
        ? {
            stdin: (async function* () {
              yield stdin;
            })(),
          }
        : {}),
      ...(signal ? { signal } : {}),
    },
  };
}

/** Runs `governor ARGS...` to its end: its exit code and what it wrote. */
export async function runCli(args: readonly string[], stdin?: string): Promise<CliOutput & { code: number }> {
  const { out, io } = capturedIo(stdin !== undefined ? { stdin } : {});
  const code = await main(args, io);
  return { code, ...out };
}

/** `-f NAME` for each file, then Bookinfo's Services, Pods and DestinationRules as their context. */
export const withBookinfo = (...names: string[]): string[] => [
  ...names.flatMap((n) => ['-f', n]),
  '-f',
  'context-bookinfo.yaml',
];
