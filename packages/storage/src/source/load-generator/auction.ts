/**
 * The auction load generator (after Materialize's `LOAD GENERATOR AUCTION`).
 *
 * ## Outputs (index: name(columns), key = id)
 * 0. `organizations(id int64, name text)`
 * 1. `users(id int64, org_id int64, name text)` — `org_id` references `organizations.id`
 * 2. `accounts(id int64, org_id int64, balance int64)` — one account per organization
 * 3. `auctions(id int64, seller int64, item text, end_time timestamp)` — `seller` is a user id
 * 4. `bids(id int64, buyer int64, auction_id int64, amount int64, bid_time timestamp)`
 *
 * ## What each tick emits (append-only unless `maxAuctions` is set)
 * - Tick 0 first inserts the fixed population, a function of the seed alone:
 *   `ORGANIZATION_COUNT` organizations, `USER_COUNT` users and one account per organization.
 * - Every tick `n` (tick 0 included) creates auction `n + 1`: a seller, an item from `ITEMS` and
 *   a duration of `MIN_AUCTION_TICKS..=MAX_AUCTION_TICKS` ticks drawn from the stream keyed by
 *   `(seed, n)`; `end_time = clock.timeAt(n + duration)`.
 * - Then 1..=`MAX_BIDS_PER_TICK` bids, with ids `n * MAX_BIDS_PER_TICK + j + 1` (unique, and
 *   computable from `n` alone, hence sparse), `bid_time = clock.timeAt(n)`, a buyer other than the
 *   auction's seller and an amount in `1..=MAX_BID_AMOUNT`.
 *
 * - With `maxAuctions = R` (≥ `MAX_AUCTION_TICKS`), tick `n ≥ R` also retracts auction `n − R + 1`
 *   (created at tick `c = n − R`, closed since tick `c + duration ≤ n`) and every bid on it: the
 *   bids of ticks `c ..< c + duration` are re-derived from their keyed streams and those naming
 *   the auction are retracted. So exactly the newest `R` auctions live, no live bid names a
 *   retracted auction, and each tick's work stays bounded (O(MAX_AUCTION_TICKS²) derivations).
 *
 * ## Referential rules
 * A bid at tick `n` goes to an auction created at tick `c <= n` that is still open at the bid's
 * time: `timeAt(c) <= bid_time < end_time`, i.e. `n < c + duration(c)`. Since durations are at
 * most `MAX_AUCTION_TICKS`, the candidates are the auctions of ticks
 * `max(0, n - MAX_AUCTION_TICKS + 1) ..= n`, whose durations are re-derived from their own keyed
 * streams: O(MAX_AUCTION_TICKS) work, no replay of earlier ticks. The auction created at `n` is
 * always open at `n`, so there is always a candidate.
 */
import { AUCTION_OUTPUTS } from "@mzts/protocol/domain";
import { Datum, type Row } from "@mzts/repr";
import type { GeneratedUpdate, LoadGenerator } from "./load-generator.js";
import { SplitMix64 } from "./prng.js";
import { checkTick, type TickClock } from "./tick-clock.js";

export { AUCTION_OUTPUTS };

/** Output indices of the auction generator. */
export const AuctionOutput = Object.freeze({
  organizations: 0,
  users: 1,
  accounts: 2,
  auctions: 3,
  bids: 4,
} as const);

export const ORGANIZATION_COUNT = 8;
export const USER_COUNT = 40;
export const MIN_AUCTION_TICKS = 2;
export const MAX_AUCTION_TICKS = 10;
export const MAX_BIDS_PER_TICK = 4;
export const MAX_BID_AMOUNT = 100;
export const MAX_BALANCE = 100_000;

/** Auctioned items; each auction picks one. */
export const ITEMS: readonly string[] = Object.freeze([
  "Vintage Typewriter",
  "Signed Vinyl Record",
  "Hot Air Balloon Ride",
  "Handmade Quilt",
  "Antique Pocket Watch",
  "Chef's Tasting Menu",
  "Mountain Cabin Weekend",
  "First Edition Novel",
  "Pottery Class",
  "Restored Bicycle",
]);

const ORGANIZATION_NAMES: readonly string[] = [
  "Acme Logistics",
  "Bluebird Labs",
  "Cobalt Systems",
  "Driftwood Foods",
  "Evergreen Energy",
  "Falcon Freight",
  "Granite Health",
  "Harbor Analytics",
  "Ironwood Media",
  "Juniper Retail",
  "Keystone Robotics",
  "Lighthouse Bank",
];
const FIRST_NAMES: readonly string[] = [
  "Ada",
  "Bjorn",
  "Chiara",
  "Dmitri",
  "Esme",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonah",
  "Kaveh",
  "Lena",
  "Mateo",
  "Nadia",
  "Omar",
  "Priya",
];
const LAST_NAMES: readonly string[] = [
  "Adeyemi",
  "Brennan",
  "Castillo",
  "Dubois",
  "Eriksen",
  "Fujita",
  "Gallo",
  "Haddad",
  "Ivanova",
  "Jensen",
  "Kowalski",
  "Lindqvist",
];

/** Random streams, one per purpose, so draws of one never shift another. */
const STREAM_POPULATION = 1;
const STREAM_AUCTION = 2;
const STREAM_BIDS = 3;

/** Options of the auction generator, already validated (see `createLoadGenerator`). */
export interface AuctionOptions {
  readonly seed: bigint;
  readonly clock: TickClock;
  /** Keep the newest this many auctions (≥ MAX_AUCTION_TICKS); null/absent = all. */
  readonly maxAuctions?: bigint | null;
}

/** An auction as derived from its creation tick. */
export interface AuctionPlan {
  readonly id: bigint;
  /** Tick the auction is created at. */
  readonly createdTick: bigint;
  readonly seller: bigint;
  readonly item: string;
  /** Open during ticks `createdTick .. createdTick + durationTicks - 1`. */
  readonly durationTicks: bigint;
}

/** `LOAD GENERATOR AUCTION`: see the file doc for the outputs and the rules. */
export class AuctionGenerator implements LoadGenerator {
  readonly kind = "auction" as const;
  readonly seed: bigint;
  readonly clock: TickClock;
  readonly outputs = AUCTION_OUTPUTS;
  readonly maxAuctions: bigint | null;

  constructor(options: AuctionOptions) {
    this.seed = options.seed;
    this.clock = options.clock;
    this.maxAuctions = options.maxAuctions ?? null;
    if (this.maxAuctions !== null && this.maxAuctions < BigInt(MAX_AUCTION_TICKS)) {
      throw new RangeError(
        `maxAuctions ${this.maxAuctions} is below ${MAX_AUCTION_TICKS}, the longest auction in ticks`,
      );
    }
  }

  updatesAt(tick: bigint): GeneratedUpdate[] {
    checkTick(tick);
    const now = this.clock.timeAt(tick);
    const out: GeneratedUpdate[] = [];
    const add = (output: number, row: Row) => out.push({ output, row, diff: 1 });

    if (tick === 0n) for (const [output, row] of this.population()) add(output, row);

    add(AuctionOutput.auctions, this.auctionRow(this.auctionAt(tick)));
    for (const bid of this.bidsAt(tick, now)) add(AuctionOutput.bids, bid);

    const R = this.maxAuctions;
    if (R !== null && tick >= R) {
      const old = this.auctionAt(tick - R);
      const retract = (output: number, row: Row) => out.push({ output, row, diff: -1 });
      for (let t = old.createdTick; t < old.createdTick + old.durationTicks; t++) {
        for (const bid of this.bidsAt(t, this.clock.timeAt(t))) {
          if (bid[2] === old.id) retract(AuctionOutput.bids, bid);
        }
      }
      retract(AuctionOutput.auctions, this.auctionRow(old));
    }
    return out;
  }

  /** The `auctions` row of an auction. */
  private auctionRow(a: AuctionPlan): Row {
    return [
      a.id,
      a.seller,
      a.item,
      Datum.timestamp(this.clock.timeAt(a.createdTick + a.durationTicks)),
    ];
  }

  /** The `bids` rows made at `tick` (whose time is `now`), derived from `(seed, tick)`. */
  private bidsAt(tick: bigint, now: bigint): Row[] {
    const open = this.openAuctionsAt(tick);
    const rng = SplitMix64.keyed(this.seed, STREAM_BIDS, tick);
    const bids = rng.range(1, MAX_BIDS_PER_TICK);
    const bidTime = Datum.timestamp(now);
    const rows: Row[] = [];
    for (let j = 0; j < bids; j++) {
      const auction = rng.pick(open);
      // A buyer other than the seller: draw among the other USER_COUNT - 1 users.
      let buyer = BigInt(rng.range(1, USER_COUNT - 1));
      if (buyer >= auction.seller) buyer += 1n;
      const amount = BigInt(rng.range(1, MAX_BID_AMOUNT));
      const id = tick * BigInt(MAX_BIDS_PER_TICK) + BigInt(j) + 1n;
      rows.push([id, buyer, auction.id, amount, bidTime]);
    }
    return rows;
  }

  /** The auction created at `tick`, derived from the `(seed, tick)` stream alone. */
  auctionAt(tick: bigint): AuctionPlan {
    const rng = SplitMix64.keyed(this.seed, STREAM_AUCTION, tick);
    return {
      id: tick + 1n,
      createdTick: tick,
      seller: BigInt(rng.range(1, USER_COUNT)),
      item: rng.pick(ITEMS),
      durationTicks: BigInt(rng.range(MIN_AUCTION_TICKS, MAX_AUCTION_TICKS)),
    };
  }

  /** Auctions open at `tick` (created at or before it, ending after it), oldest first. */
  openAuctionsAt(tick: bigint): AuctionPlan[] {
    const first = tick - BigInt(MAX_AUCTION_TICKS) + 1n;
    const open: AuctionPlan[] = [];
    for (let c = first < 0n ? 0n : first; c <= tick; c++) {
      const a = this.auctionAt(c);
      if (c + a.durationTicks > tick) open.push(a);
    }
    return open;
  }

  /** The tick-0 snapshot: organizations, users, accounts (a function of the seed). */
  private population(): Array<[number, Row]> {
    const rng = SplitMix64.keyed(this.seed, STREAM_POPULATION, 0n);
    const rows: Array<[number, Row]> = [];
    // Distinct organization names: a seeded Fisher–Yates shuffle, then the first few.
    const names = [...ORGANIZATION_NAMES];
    for (let i = names.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [names[i], names[j]] = [names[j]!, names[i]!];
    }
    for (let i = 1; i <= ORGANIZATION_COUNT; i++) {
      rows.push([AuctionOutput.organizations, [BigInt(i), names[i - 1]!]]);
    }
    for (let i = 1; i <= USER_COUNT; i++) {
      const name = `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
      const org = BigInt(rng.range(1, ORGANIZATION_COUNT));
      rows.push([AuctionOutput.users, [BigInt(i), org, name]]);
    }
    for (let i = 1; i <= ORGANIZATION_COUNT; i++) {
      const balance = BigInt(rng.range(0, MAX_BALANCE));
      rows.push([AuctionOutput.accounts, [BigInt(i), BigInt(i), balance]]);
    }
    return rows;
  }
}
