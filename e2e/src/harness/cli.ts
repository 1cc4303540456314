/**
 * Argument checks shared by the e2e command lines (`pnpm chaos`, `pnpm fuzz`, `pnpm evaluate`):
 * each takes the command's `usage` (which prints the message and the usage and exits 2) and
 * returns the option's value, or its default when the option is absent.
 */

/** Prints `<command>: <message>` and `text` on stderr and exits 2. */
export function usageExit(command: string, text: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${command}: ${message}\n${text}\n`);
    process.exit(2);
  };
}

/** `--name v`: a finite number > 0. */
export function positiveOption(
  usage: (message: string) => never,
  name: string,
  v: string | undefined,
  dflt: number,
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name}: expected a positive number, got "${v}"`);
  return n;
}

/** `--name v`: a safe integer ≥ `min`. */
export function integerOption(
  usage: (message: string) => never,
  name: string,
  v: string | undefined,
  dflt: number,
  min: number,
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    usage(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
  }
  return n;
}
