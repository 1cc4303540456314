/**
 * Why a replica refused a controller's hello, as it tells the controller: the stream's trailers
 * (`mz-refusal` and, for a stale generation, `mz-highest-generation`) beside the Connect code and
 * message. The replica side sets them (`@mzts/mz-cluster` `toConnectError`); a controller reads
 * them with `helloRefusalOf(err)` to tell "fenced" and "not authenticated" apart from any other
 * failure without parsing messages.
 *
 * A `stale-generation` refusal only says the replica has accepted a hello of a higher
 * generation; whether a newer environmentd booted is for the controller to check in the catalog.
 */

/** Trailer naming why a hello was refused (`stale-generation` | `unauthenticated`). */
export const REFUSAL_TRAILER = "mz-refusal";
/** Trailer of a `stale-generation` refusal: the highest generation the replica has accepted. */
export const HIGHEST_GENERATION_TRAILER = "mz-highest-generation";

export type HelloRefusal =
  | { readonly kind: "stale-generation"; readonly highestGeneration: bigint }
  | { readonly kind: "unauthenticated" };

/** The refusal carried by a stream error (a `ConnectError`'s `metadata`), if it is one. */
export function helloRefusalOf(err: unknown): HelloRefusal | undefined {
  const metadata = (err as { metadata?: { get(name: string): string | null } } | null)?.metadata;
  const kind = metadata?.get(REFUSAL_TRAILER);
  if (kind === "unauthenticated") return { kind };
  if (kind === "stale-generation") {
    const highest = metadata?.get(HIGHEST_GENERATION_TRAILER) ?? "";
    if (/^\d{1,20}$/.test(highest)) return { kind, highestGeneration: BigInt(highest) };
  }
  return undefined;
}
