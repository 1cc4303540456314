/**
 * Test helpers of `@mzts/flags`: temporary flags files, a pino logger that captures its lines,
 * a fresh metrics registry, polling with a deadline, and cleanup of everything a test opened.
 *
 * Every test that uses `harness()` must call `cleanup()` in `afterEach`: it closes every
 * `PhaseFlags` created through the harness and removes the temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import { createPhaseFlags, type PhaseFlags, type PhaseFlagsOptions } from "../provider.js";

/** One captured log line (pino's JSON object). */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export const WARN = 40;
export const ERROR = 50;

export interface Harness {
  readonly dir: string;
  readonly logs: LogLine[];
  readonly logger: Logger;
  readonly registry: Registry;
  /** Writes `content` (JSON-stringified unless a string) to `dir/name`, in place. */
  write(name: string, content: unknown): string;
  /** `createPhaseFlags` with this harness's logger and registry; closed by `cleanup()`. */
  create(
    options: Omit<PhaseFlagsOptions, "logger" | "registry" | "environmentId"> & {
      environmentId?: string;
    },
  ): PhaseFlags;
  /** The value of a gauge series, or undefined when the series does not exist. */
  gauge(name: string, labels: Record<string, string>): Promise<number | undefined>;
  cleanup(): Promise<void>;
}

export function harness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), "mzts-flags-"));
  const logs: LogLine[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(line: string) {
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  );
  const registry = new Registry();
  const opened: PhaseFlags[] = [];
  return {
    dir,
    logs,
    logger,
    registry,
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
      return path;
    },
    create(options) {
      const flags = createPhaseFlags({ environmentId: "env-test", ...options, logger, registry });
      opened.push(flags);
      return flags;
    },
    async gauge(name, labels) {
      const metric = registry.getSingleMetric(name);
      if (metric === undefined) return undefined;
      const { values } = await metric.get();
      const found = values.find((v) =>
        Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
      );
      return found?.value;
    },
    async cleanup() {
      await Promise.all(opened.map((f) => f.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 2 ms until it returns a value other than undefined/false, or throws. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 1_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A full LaunchDarkly definition of a boolean flag, as in the flags file's `flags` form. */
export function booleanFlag(
  key: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    key,
    on: true,
    variations: [true, false],
    offVariation: 1,
    fallthrough: { variation: 1 },
    version: 1,
    ...fields,
  };
}
