/**
 * Subscribes of an evaluation: for each `SUBSCRIBED` collection, one subscribe per side from the
 * same as-of, read until `stop()` (or until the stream completes: the twin deterministic source
 * closes at `END`). `compare()` then diffs the two streams (`diffStreams`: consolidated updates
 * below the upper both reached, plus each stream's own invariants).
 *
 * The as-of of a pair is the largest of both sides' sinces and one below the smaller write
 * frontier (from one `Status`): readable on both, and recent.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type Difference, diffStreams, emptyStream, type Stream } from "./compare.js";
import { type EvaluationContext, SIDES, type Side } from "./context.js";
import { SUBSCRIBED } from "./workload.js";

export interface Subscribes {
  /** Updates received per side (all pairs). */
  updates(side: Side): number;
  /** Stops the streams and compares each pair. */
  stopAndCompare(): Promise<Difference[]>;
}

async function asOfFor(ctx: EvaluationContext, neutral: string): Promise<bigint> {
  const s = await ctx.session.api.status();
  let since = 0n;
  let upper: bigint | undefined;
  for (const side of SIDES) {
    const c = s.clusters.find((x) => x.id === ctx.sides[side].clusterId);
    const col = c?.collections.find((x) => x.name === ctx.name(side, neutral));
    if (col === undefined) throw new Error(`${ctx.name(side, neutral)} has no status yet`);
    if (col.since !== null && col.since > since) since = col.since;
    if (col.writeFrontier !== null && (upper === undefined || col.writeFrontier < upper)) {
      upper = col.writeFrontier;
    }
  }
  const recent = upper === undefined || upper === 0n ? 0n : upper - 1n;
  return recent > since ? recent : since;
}

/** Opens the subscribes (see the file comment). */
export async function startSubscribes(ctx: EvaluationContext): Promise<Subscribes> {
  const abort = new AbortController();
  const pairs: Array<{
    neutral: string;
    asOf: bigint;
    streams: Record<Side, Stream>;
    done: Promise<unknown>;
  }> = [];
  for (const neutral of SUBSCRIBED) {
    const asOf = await asOfFor(ctx, neutral);
    const streams: Record<Side, Stream> = { baseline: emptyStream(), candidate: emptyStream() };
    const read = async (side: Side) => {
      const s = streams[side];
      try {
        for await (const batch of ctx.session.api.subscribe(
          { object: ctx.name(side, neutral), asOf },
          abort.signal,
        )) {
          s.updates.push(...batch.updates);
          s.uppers.push(batch.upper);
        }
      } catch (e) {
        // Cancelled by `stopAndCompare`: the end of the stream, not a failure.
        if (!abort.signal.aborted) {
          s.error = e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : String(e);
        }
      }
    };
    pairs.push({ neutral, asOf, streams, done: Promise.all(SIDES.map(read)) });
  }
  return {
    updates: (side) => pairs.reduce((n, p) => n + p.streams[side].updates.length, 0),
    async stopAndCompare() {
      abort.abort();
      await Promise.all(pairs.map((p) => p.done));
      return pairs.flatMap((p) =>
        diffStreams(`${p.neutral} from ${p.asOf}`, p.asOf, p.streams.baseline, p.streams.candidate),
      );
    },
  };
}
