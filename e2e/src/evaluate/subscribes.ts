/**
 * Subscribes of an evaluation: for each `SUBSCRIBED` collection, one subscribe per side from the
 * same as-of, read until `stop()` (or until the stream completes: the twin deterministic source
 * closes at `END`). `compare()` then diffs the two streams (`diffStreams`: consolidated updates
 * below the upper both reached, plus each stream's own invariants).
 *
 * The as-of of a pair is the largest of both sides' sinces and one below the smaller write
 * frontier (from one `Status`): readable on both, and recent. The sinces may pass it before the
 * subscribes reach the replicas (a write frontier that jumps, e.g. catching up after a restart,
 * drags the since along): a pair whose side is refused for that before its first batch is opened
 * again at a fresh as-of (`OPEN_ATTEMPTS`), both sides together, so the pair stays comparable.
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

/** How many times a pair is opened at a fresh as-of when a side's since passed it. */
const OPEN_ATTEMPTS = 5;
/** How long opening a pair waits for both sides' first batch before going on regardless. */
const FIRST_BATCH_MS = 30_000;

interface Pair {
  neutral: string;
  asOf: bigint;
  streams: Record<Side, Stream>;
  done: Promise<unknown>;
}

/** One pair's subscribes from one as-of; resolves once both sides answered (or failed). */
async function openPair(
  ctx: EvaluationContext,
  neutral: string,
  stopAll: AbortSignal,
): Promise<{ pair: Pair; sinceRefused: boolean; retire: () => Promise<void> }> {
  const asOf = await asOfFor(ctx, neutral);
  const abort = new AbortController();
  const onStop = () => abort.abort();
  stopAll.addEventListener("abort", onStop, { once: true });
  const streams: Record<Side, Stream> = { baseline: emptyStream(), candidate: emptyStream() };
  const firsts: Array<Promise<void>> = [];
  const read = async (side: Side, started: () => void) => {
    const s = streams[side];
    try {
      for await (const batch of ctx.session.api.subscribe(
        { object: ctx.name(side, neutral), asOf },
        abort.signal,
      )) {
        s.updates.push(...batch.updates);
        s.uppers.push(batch.upper);
        started();
      }
    } catch (e) {
      // Cancelled by `stopAndCompare` (or a retry): the end of the stream, not a failure.
      if (!abort.signal.aborted) {
        s.error = e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : String(e);
      }
    } finally {
      started();
    }
  };
  const done = Promise.all(
    SIDES.map((side) => {
      let started: () => void = () => {};
      firsts.push(
        new Promise<void>((r) => {
          started = r;
        }),
      );
      return read(side, () => started());
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(firsts),
    new Promise<void>((r) => {
      timer = setTimeout(r, FIRST_BATCH_MS);
    }),
  ]);
  clearTimeout(timer);
  const sinceRefused = SIDES.some((side) => {
    const s = streams[side];
    return (
      s.uppers.length === 0 && /^FailedPrecondition: .*readable from since/.test(s.error ?? "")
    );
  });
  const retire = async () => {
    stopAll.removeEventListener("abort", onStop);
    abort.abort();
    await done;
  };
  return { pair: { neutral, asOf, streams, done }, sinceRefused, retire };
}

/** Opens the subscribes (see the file comment). */
export async function startSubscribes(ctx: EvaluationContext): Promise<Subscribes> {
  const abort = new AbortController();
  const pairs: Pair[] = [];
  for (const neutral of SUBSCRIBED) {
    for (let attempt = 1; ; attempt++) {
      const opened = await openPair(ctx, neutral, abort.signal);
      if (!opened.sinceRefused || attempt === OPEN_ATTEMPTS) {
        pairs.push(opened.pair);
        break;
      }
      await opened.retire();
    }
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
