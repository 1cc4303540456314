#!/usr/bin/env node
/**
 * mzctl: the command-line client of environmentd's API (see `cli/program.ts` for commands,
 * output and exit codes). Ctrl-C stops a running `subscribe` or `status --watch` cleanly; a
 * second Ctrl-C exits at once.
 */
import { runCli } from "./cli/program.js";
import { processIo } from "./cli/render.js";

const interrupt = new AbortController();
process.on("SIGINT", () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
});
const code = await runCli(process.argv, processIo(), interrupt.signal);
// The HTTP/2 session may linger idle; exit now that every write has been issued.
process.exit(code);
