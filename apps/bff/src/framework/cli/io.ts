/** What a command needs from its process: the directory paths are relative to, and the three streams. */
export interface CliIo {
  readonly cwd: string;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** Ends a long-running command (`governor rls`); without it, SIGINT or SIGTERM do. */
  readonly signal?: AbortSignal;
}

export class UsageError extends Error {}

/**
 * A command's options, as `read` makes them of its arguments. A {@link UsageError} it throws is printed
 * with the command's help, and null returned: the command then exits 2.
 */
export function readUsage<T>(io: CliIo, command: string, help: string, read: () => T): T | null {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`governor ${command}: ${e.message}\n\n${help}`);
    return null;
  }
}

/** A tiny option parser: `--name value`, `--name=value`, `-f value`, repeated options, flags. */
export interface OptionSpec {
  readonly names: readonly string[];
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
}

export function parseOptions<K extends string>(
  args: readonly string[],
  spec: Record<K, OptionSpec>,
): { values: Partial<Record<K, string[]>>; flags: Partial<Record<K, boolean>>; positional: string[] } {
  const byName = new Map<string, K>();
  for (const [key, s] of Object.entries(spec) as [K, OptionSpec][])
    for (const n of s.names) byName.set(n, key);
  const values: Partial<Record<K, string[]>> = {};
  const flags: Partial<Record<K, boolean>> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const key = byName.get(name);
    if (key === undefined) throw new UsageError(`unknown option ${name}`);
    const s = spec[key];
    if (!s.takesValue) {
      if (eq >= 0) throw new UsageError(`${name} takes no value`);
      flags[key] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      i++;
    }
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    const list = values[key] ?? [];
    if (list.length > 0 && !s.repeatable) throw new UsageError(`${name} given more than once`);
    list.push(value);
    values[key] = list;
  }
  return { values, flags, positional };
}
