/**
 * `mzctl status`'s migration-stage lines (docs/design/20261207_migration_stages.md): per
 * migrating phase of a cluster its stage, which path answers, each replica's slot, the peek
 * comparisons by result, per-path latency and errors, the last inconsistency, and what keeps the
 * stage from comparing (e.g. a one-replica cluster needs a second replica).
 */
import type { MigrationStatus } from "@mzts/protocol";
import { table } from "./render.js";

/** The lines of a cluster's `migrations` ("" when none migrates), indented two spaces. */
export function migrationsText(migrations: readonly MigrationStatus[] | undefined): string {
  return (migrations ?? []).map(migrationText).join("");
}

function migrationText(m: MigrationStatus): string {
  const slots =
    m.slots.length === 0
      ? "no replicas"
      : m.slots.map((s) => `${s.replica} ${s.slot ?? noSlot(m)}`).join(", ");
  const lines = [
    `migration ${m.flag} ${m.stage}: ${m.authoritative} answers${
      m.compares ? ", the other is compared" : ""
    }; slots ${slots}`,
  ];
  if (m.compares) {
    lines.push(
      `  comparisons: ${m.consistent} consistent, ${m.inconsistent} inconsistent, ${m.timeout} timeout, ${m.fallback} fallback`,
    );
    const measured = m.paths.filter((p) => p.answers > 0);
    if (measured.length > 0) {
      const t = table(
        ["PATH", "ANSWERS", "P50_MS", "P99_MS", "ERRORS"],
        measured.map((p) => [
          p.path,
          String(p.answers),
          String(p.p50Ms),
          String(p.p99Ms),
          String(p.errors),
        ]),
      );
      lines.push(
        ...t
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
      );
    }
  }
  if (m.lastInconsistency !== undefined) {
    lines.push(`  last inconsistency: ${m.lastInconsistency}`);
  }
  if (m.note !== undefined) lines.push(`  note: ${m.note}`);
  return lines.map((l) => `  ${l}\n`).join("");
}

/** A replica without a slot: under `state` every replica runs both paths (one drives it). */
function noSlot(m: MigrationStatus): string {
  return m.flag === "cluster-unification-state" ? "(both)" : "(neither)";
}
