/**
 * The kinds of kill `pnpm chaos` draws from (see `chaos.ts`). Their own module so that the
 * command line checks its arguments (and exits 2 on a usage error) before loading the harness.
 */
export const KILL_KINDS = ["replica", "both", "environmentd", "environmentd-ddl"] as const;
export type KillKind = (typeof KILL_KINDS)[number];
