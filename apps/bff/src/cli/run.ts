/** The `governor` process: the command line on this process's arguments and streams. */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2), {
  // `pnpm governor` runs from the package's directory; paths on the command line are the caller's.
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
