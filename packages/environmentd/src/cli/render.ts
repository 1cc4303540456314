/**
 * mzctl's human output: aligned text tables, datums rendered with `Datum.format`, and a progress
 * line on stderr while waiting on long work (a spinner with the elapsed time when stderr is a
 * TTY; otherwise one "waiting…" line, so logs and pipes stay readable).
 */
import type { EnvironmentPeekResponse } from "@mzts/protocol";
import { Datum, Frontier, type Row } from "@mzts/repr";
import { PERSISTED_ANSWERER } from "../introspection/persisted-relations.js";

/** Where mzctl writes: injectable so tests and embedders can capture output. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is an interactive terminal (spinner) or not (one "waiting…" line). */
  readonly stderrIsTty: boolean;
}

/** The process' own streams. */
export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTty: process.stderr.isTTY === true,
  };
}

/**
 * Render rows as a left-aligned table with a header, columns separated by two spaces and no
 * trailing blanks. An empty `rows` still prints the header.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** One row's datums as text cells (`NULL`, numbers, ISO timestamps, `\x…` bytes, JSON text). */
export function rowCells(row: Row): string[] {
  return row.map((d) => Datum.format(d));
}

/**
 * A peek's rows as a table — headed by `columns` (else `#0`, `#1`, …), with a COUNT column when a
 * row occurs more than once — and a footer: how many rows, at which time, from which replica.
 */
export function peekTable(peek: EnvironmentPeekResponse, columns?: readonly string[]): string {
  const width = Math.max(columns?.length ?? 0, ...peek.rows.map(([row]) => row.length));
  const header = Array.from({ length: width }, (_, i) => columns?.[i] ?? `#${i}`);
  const counted = peek.rows.some(([, count]) => count !== 1);
  const rows = peek.rows.map(([row, count]) =>
    counted ? [...rowCells(row), String(count)] : rowCells(row),
  );
  const total = peek.rows.reduce((n, [, count]) => n + count, 0);
  return `${table(counted ? [...header, "COUNT"] : header, rows)}(${total} row${
    total === 1 ? "" : "s"
  } at ${peek.timestamp} from ${
    peek.replicaId === PERSISTED_ANSWERER.replicaId
      ? "environmentd (persisted)"
      : `replica ${peek.replica}`
  })\n`;
}

/** An `io` that keeps what is written (tests, embedders): `out` and `err`. */
export function bufferIo(stderrIsTty = false): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stderrIsTty,
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

/** `[t]` or `[]` (complete), as frontiers print in logs and errors. */
export function frontierText(f: Frontier): string {
  return Frontier.format(f);
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Run `work`, showing progress on stderr if it takes longer than `delayMs`: on a TTY a redrawn
 * `⠋ label (1.2s)` line, erased when the work settles; otherwise a single `waiting… label` line.
 * The work's result or error passes through unchanged.
 */
export async function withProgress<T>(
  io: CliIo,
  label: string,
  work: Promise<T>,
  delayMs = 250,
): Promise<T> {
  const started = Date.now();
  let frame = 0;
  let shown = false;
  const draw = () => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    io.stderr(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label} (${elapsed}s)`);
  };
  let ticker: NodeJS.Timeout | undefined;
  const start = setTimeout(() => {
    shown = true;
    if (!io.stderrIsTty) {
      io.stderr(`waiting… ${label}\n`);
      return;
    }
    draw();
    ticker = setInterval(draw, 100);
  }, delayMs);
  try {
    return await work;
  } finally {
    clearTimeout(start);
    if (ticker !== undefined) clearInterval(ticker);
    if (shown && io.stderrIsTty) io.stderr("\r\x1b[2K");
  }
}
