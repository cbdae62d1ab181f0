/**
 * `governor`: the command line. Commands are small functions over plain streams so that tests run them
 * in-process, exactly as the binary does.
 */
import { renderCommand, RENDER_HELP } from './render-command';
import type { CliCommand } from '../framework/registry';
import { MODULES } from '../modules';
import { rlsCommand, RLS_HELP } from './rls-command';
import type { CliIo } from '../framework/cli/io';
import { redactCredentials } from '../redact';

export type { CliIo } from '../framework/cli/io';

const commands: Record<string, CliCommand> = {
  render: {
    summary: 'Print what reconciling objects would write (SmartLimiter → EnvoyFilter, ...)',
    help: RENDER_HELP,
    run: renderCommand,
  },
  rls: {
    summary: "Serve Envoy's rate-limit API for the global limits of SmartLimiters",
    help: RLS_HELP,
    run: rlsCommand,
  },
  // Each module's own verbs.
  ...Object.assign({}, ...MODULES.map((m) => m.commands)),
};

const HELP = `governor: Istio's management plane (${MODULES.map((m) => `${m.kind}: ${m.name}`).join(', ')})

Usage: governor <command> [options]

Commands:
${Object.entries(commands)
  .sort(([a], [b]) => (a < b ? -1 : 1))
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}
  help      Show help for a command

Run 'governor <command> --help' for a command's options.
`;

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
