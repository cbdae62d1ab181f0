/**
 * The compiled `governor` (dist/governor.mjs): the command line on this process's arguments and streams.
 * Paths are relative to the process's own directory; bin/governor.mjs, which `pnpm governor` runs from
 * the package's directory, takes the caller's from INIT_CWD instead.
 */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
