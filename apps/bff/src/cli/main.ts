/**
 * `governor`: the command line. Commands are small functions over plain streams so that tests run them
 * in-process, exactly as the binary does.
 */
import { renderCommand, RENDER_HELP } from './render-command';
import { replayCommand, REPLAY_HELP } from '../modules/limiter/cli/replay-command';
import { rlsCommand, RLS_HELP } from './rls-command';
import type { CliIo } from './io';
import { redactCredentials } from '../redact';

export type { CliIo } from './io';

const HELP = `governor: adaptive rate limiting for Istio (SmartLimiter → EnvoyFilter)

Usage: governor <command> [options]

Commands:
  render    Print the EnvoyFilters that reconciling SmartLimiters would write
  replay    Replay a trace of requests through the rendered limits (what-if)
  rls       Serve Envoy's rate-limit API for the global limits of SmartLimiters
  help      Show help for a command

Run 'governor <command> --help' for a command's options.
`;

const commands: Record<string, { run: (args: string[], io: CliIo) => Promise<number>; help: string }> = {
  render: { run: renderCommand, help: RENDER_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  rls: { run: rlsCommand, help: RLS_HELP },
};

/** Runs the CLI; resolves to the process exit code (0 ok, 1 invalid input, 2 usage). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    io.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'help') {
    const topic = rest[0];
    const c = topic !== undefined ? commands[topic] : undefined;
    io.stdout.write(c ? c.help : HELP);
    return topic === undefined || c ? 0 : 2;
  }
  const c = commands[command];
  if (!c) {
    io.stderr.write(`governor: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(c.help);
    return 0;
  }
  try {
    return await c.run(rest, io);
  } catch (e) {
    io.stderr.write(
      `governor ${command}: ${redactCredentials(e instanceof Error ? e.message : String(e))}\n`,
    );
    return 1;
  }
}
