/**
 * Error classes of the catalog, under the package root `EnvironmentdError`.
 *
 * Every class carries a `name`, structured fields and a message that says what to do next.
 * Fencing (`StaleGeneration`), bad requests (`UnknownObject`, `NameInUse`, `DependencyExists`,
 * `InvalidCatalogInput`, `GenerationNotBooted`) and storage faults (`UnsupportedFormatVersion`,
 * `CorruptCatalog`, `CatalogUnavailable`, `CatalogClosed`) are distinct so callers can react to
 * each: a fenced environmentd exits, a bad request is reported to the user, a storage fault is
 * retried or escalated.
 */

/** Root of every error thrown by `@mzts/environmentd`. */
export class EnvironmentdError extends Error {
  override name = "EnvironmentdError";
}

/** The kinds of catalog objects, as named in error messages. */
export type CatalogObjectKind = "cluster" | "replica" | "source" | "index" | "materialized-view";

/**
 * A mutating call carried a generation older than the catalog's: a newer environmentd booted
 * after this one, so this one is a zombie. Nothing was written. The one `StaleGeneration` of
 * `@mzts/protocol`, built with `StaleGeneration.catalog(…)` (`refusedBy: "catalog"`, `subject` =
 * the operation); re-exported here for the catalog's callers.
 */
export { StaleGeneration } from "@mzts/protocol";

/** A mutating call carried a generation that no boot has returned yet (a caller bug). */
export class GenerationNotBooted extends EnvironmentdError {
  override name = "GenerationNotBooted";
  constructor(
    readonly generation: bigint,
    readonly currentGeneration: bigint,
    readonly operation: string,
  ) {
    super(
      `${operation} refused: generation ${generation} was never booted (the catalog is at ` +
        `generation ${currentGeneration}); call boot() and pass the generation it returns`,
    );
  }
}

/** No object of that kind has that name. */
export class UnknownObject extends EnvironmentdError {
  override name = "UnknownObject";
  constructor(
    readonly kind: CatalogObjectKind | "object",
    /** The name (or id, for `object`) that was looked up. */
    readonly objectName: string,
    /** For replicas: the cluster searched. */
    readonly cluster?: string,
  ) {
    super(
      `unknown ${kind} ${JSON.stringify(objectName)}${
        cluster === undefined ? "" : ` in cluster ${JSON.stringify(cluster)}`
      }; list the catalog to see what exists, or create it first`,
    );
  }
}

/** The name is already taken in its namespace (clusters; replicas of one cluster; items). */
export class NameInUse extends EnvironmentdError {
  override name = "NameInUse";
  constructor(
    readonly kind: CatalogObjectKind,
    readonly objectName: string,
    /** The kind of the object that holds the name (items share one namespace). */
    readonly existingKind: CatalogObjectKind,
    readonly existingId: string,
  ) {
    super(
      `cannot create ${kind} ${JSON.stringify(objectName)}: the name is already used by ` +
        `${existingKind} ${existingId}; choose another name or drop the existing object first`,
    );
  }
}

/** One object that depends on another, as named by `DependencyExists`. */
export interface Dependent {
  readonly kind: CatalogObjectKind;
  readonly id: string;
  readonly name: string;
}

/** A drop without `cascade` of an object that other objects depend on. Nothing was dropped. */
export class DependencyExists extends EnvironmentdError {
  override name = "DependencyExists";
  constructor(
    readonly kind: CatalogObjectKind,
    readonly objectName: string,
    /** The direct dependents, in id order. */
    readonly dependents: readonly Dependent[],
  ) {
    super(
      `cannot drop ${kind} ${JSON.stringify(objectName)}: ${dependents
        .map((d) => `${d.kind} ${JSON.stringify(d.name)} (${d.id})`)
        .join(", ")} depend${dependents.length === 1 ? "s" : ""} on it; drop ` +
        `${dependents.length === 1 ? "it" : "them"} first, or drop again with the request field ` +
        "`cascade` set to true (mzctl: --cascade) to drop them with it",
    );
  }
}

/** A create call with a malformed argument (empty name, bad worker count, non-JSON spec, …). */
export class InvalidCatalogInput extends EnvironmentdError {
  override name = "InvalidCatalogInput";
  constructor(
    readonly operation: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${operation}: ${field} ${reason}; fix the argument and retry`);
  }
}

/** The store holds a schema or an object written by a newer catalog format. Nothing was changed. */
export class UnsupportedFormatVersion extends EnvironmentdError {
  override name = "UnsupportedFormatVersion";
  constructor(
    /** The store location, or the object id for an object row. */
    readonly where: string,
    readonly what: "catalog schema" | "catalog object",
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `${where}: ${what} format version ${found} is newer than the supported version ` +
        `${supported}; run a newer environmentd against this catalog (the data was not modified)`,
    );
  }
}

/** A stored row could not be decoded (hand edits, a bug in a writer). */
export class CorruptCatalog extends EnvironmentdError {
  override name = "CorruptCatalog";
  constructor(
    readonly objectId: string,
    readonly reason: string,
  ) {
    super(
      `catalog object ${objectId} is corrupt: ${reason}; restore the catalog from a backup or ` +
        "remove the object by hand (environmentd will not start over a corrupt catalog)",
    );
  }
}

/** The store failed (file, disk, network, server). A write may or may not have committed. */
export class CatalogUnavailable extends EnvironmentdError {
  override name = "CatalogUnavailable";
  constructor(
    readonly location: string,
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(
      `catalog ${location}: ${operation} failed: ${
        cause instanceof Error ? cause.message : String(cause)
      }; check the data directory or database, then re-read the catalog before retrying`,
    );
  }
}

/** The catalog handle was closed; open a new one. */
export class CatalogClosed extends EnvironmentdError {
  override name = "CatalogClosed";
  constructor(readonly location: string) {
    super(`catalog ${location} is closed; open a new catalog handle`);
  }
}
