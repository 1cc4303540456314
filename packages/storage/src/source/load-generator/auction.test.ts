/**
 * Unit tests of the auction generator: the tick-0 population, one auction and a few bids per
 * tick, rows matching the declared column types, referential rules (sellers, buyers, open
 * auctions) and seed sensitivity. Random-input properties are in `load-generator.property.test.ts`.
 */
import { Datum, type Row, type TimestampDatum } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import {
  type AuctionGenerator,
  AuctionOutput,
  ITEMS,
  MAX_AUCTION_TICKS,
  MAX_BIDS_PER_TICK,
  MIN_AUCTION_TICKS,
  ORGANIZATION_COUNT,
  USER_COUNT,
} from "./auction.js";
import { outputIndex } from "./load-generator.js";
import { updatesBetween } from "./render.js";
import { createLoadGenerator } from "./spec.js";

const clock = { startMs: 1_700_000_000_000n, intervalMs: 1_000n };
const gen = createLoadGenerator({ kind: "auction", seed: 42 }, clock) as AuctionGenerator;
const rowsOf = (tick: bigint, output: number): Row[] =>
  gen
    .updatesAt(tick)
    .filter((u) => u.output === output)
    .map((u) => u.row);
const ms = (d: unknown): bigint => (d as TimestampDatum).ms;

describe("auction generator", () => {
  it("declares the five outputs with Materialize-like columns", () => {
    expect(gen.outputs.map((o) => `${o.name}(${o.columns.map((c) => c.name).join(",")})`)).toEqual([
      "organizations(id,name)",
      "users(id,org_id,name)",
      "accounts(id,org_id,balance)",
      "auctions(id,seller,item,end_time)",
      "bids(id,buyer,auction_id,amount,bid_time)",
    ]);
    expect(outputIndex(gen, "bids")).toBe(AuctionOutput.bids);
    expect(() => outputIndex(gen, "bidz")).toThrow(/"bids"/);
  });

  it("rows match the declared column types", () => {
    for (const tick of [0n, 1n, 17n]) {
      for (const u of gen.updatesAt(tick)) {
        const cols = gen.outputs[u.output]!.columns;
        expect(u.row.map((d) => Datum.typeOf(d))).toEqual(cols.map((c) => c.type));
        expect(u.diff).toBe(1);
      }
    }
  });

  it("tick 0 carries the population; later ticks do not", () => {
    const orgs = rowsOf(0n, AuctionOutput.organizations);
    const users = rowsOf(0n, AuctionOutput.users);
    const accounts = rowsOf(0n, AuctionOutput.accounts);
    expect(orgs.map((r) => r[0])).toEqual(
      Array.from({ length: ORGANIZATION_COUNT }, (_, i) => BigInt(i + 1)),
    );
    expect(new Set(orgs.map((r) => r[1])).size).toBe(ORGANIZATION_COUNT);
    expect(users).toHaveLength(USER_COUNT);
    for (const [, org] of users) {
      const o = org as bigint;
      expect(o >= 1n && o <= BigInt(ORGANIZATION_COUNT)).toBe(true);
    }
    expect(accounts.map((r) => r[1])).toEqual(orgs.map((r) => r[0]));
    expect(rowsOf(1n, AuctionOutput.users)).toEqual([]);
    expect(rowsOf(1n, AuctionOutput.organizations)).toEqual([]);
  });

  it("each tick creates auction n + 1 ending MIN..MAX ticks later, with a listed item", () => {
    for (let n = 0n; n < 50n; n++) {
      const [auction, ...rest] = rowsOf(n, AuctionOutput.auctions);
      expect(rest).toEqual([]);
      const [id, seller, item, end] = auction!;
      expect(id).toBe(n + 1n);
      const s = seller as bigint;
      expect(s >= 1n && s <= BigInt(USER_COUNT)).toBe(true);
      expect(ITEMS).toContain(item);
      const ticks = (ms(end) - gen.clock.timeAt(n)) / clock.intervalMs;
      expect(ticks >= BigInt(MIN_AUCTION_TICKS) && ticks <= BigInt(MAX_AUCTION_TICKS)).toBe(true);
    }
  });

  it("bids go to open auctions, by a buyer other than the seller, at the tick's time", () => {
    const all = updatesBetween(gen, 0n, 200n);
    const auctions = new Map<bigint, { created: bigint; seller: bigint; end: bigint }>();
    for (const [row, time] of all.get(AuctionOutput.auctions)!) {
      auctions.set(row[0] as bigint, { created: time, seller: row[1] as bigint, end: ms(row[3]) });
    }
    const perTick = new Map<bigint, number>();
    let seenOlder = false;
    for (const [row, time] of all.get(AuctionOutput.bids)!) {
      const [, buyer, auctionId, amount, bidTime] = row;
      const a = auctions.get(auctionId as bigint);
      expect(a).toBeDefined();
      expect(ms(bidTime)).toBe(time);
      expect(a!.created <= time && time < a!.end).toBe(true);
      expect(buyer).not.toBe(a!.seller);
      expect((buyer as bigint) >= 1n && (buyer as bigint) <= BigInt(USER_COUNT)).toBe(true);
      expect((amount as bigint) >= 1n).toBe(true);
      if (a!.created < time) seenOlder = true;
      perTick.set(time, (perTick.get(time) ?? 0) + 1);
    }
    // Bids are not only on the auction just created, and every tick has 1..MAX bids.
    expect(seenOlder).toBe(true);
    expect(perTick.size).toBe(200);
    for (const c of perTick.values()) expect(c >= 1 && c <= MAX_BIDS_PER_TICK).toBe(true);
  });

  it("openAuctionsAt lists exactly the auctions whose lifetime covers the tick", () => {
    for (let n = 0n; n < 40n; n++) {
      const open = gen.openAuctionsAt(n).map((a) => a.id);
      const expected: bigint[] = [];
      for (let c = 0n; c <= n; c++) {
        if (c + gen.auctionAt(c).durationTicks > n) expected.push(c + 1n);
      }
      expect(open).toEqual(expected);
    }
  });

  it("is a function of the seed: equal seeds agree, different seeds differ", () => {
    const same = createLoadGenerator({ kind: "auction", seed: "42" }, clock);
    const other = createLoadGenerator({ kind: "auction", seed: 43n }, clock);
    expect(same.updatesAt(0n)).toEqual(gen.updatesAt(0n));
    expect(same.updatesAt(7n)).toEqual(gen.updatesAt(7n));
    expect(other.updatesAt(0n)).not.toEqual(gen.updatesAt(0n));
  });

  it("derives times from the clock it is given", () => {
    const shifted = createLoadGenerator(
      { kind: "auction", seed: 42 },
      { startMs: clock.startMs + 500n, intervalMs: clock.intervalMs },
    );
    const end = (g: typeof gen | typeof shifted) =>
      ms(g.updatesAt(3n).find((u) => u.output === AuctionOutput.auctions)!.row[3]);
    expect(end(shifted) - end(gen)).toBe(500n);
  });

  it("with maxAuctions keeps exactly the newest auctions, their bids only, never negative", () => {
    const R = 12;
    const bounded = createLoadGenerator(
      { kind: "auction", seed: 42, maxAuctions: R },
      clock,
    ) as AuctionGenerator;
    // The inserts are the unbounded generator's: only retractions are added.
    expect(bounded.updatesAt(40n).filter((u) => u.diff > 0)).toEqual(
      gen.updatesAt(40n).filter((u) => u.diff > 0),
    );
    const live = new Map<string, { output: number; row: Row; n: number }>();
    const key = (output: number, row: Row) =>
      `${output}:${JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`;
    let retractedBids = 0;
    for (let tick = 0n; tick < 200n; tick++) {
      for (const u of bounded.updatesAt(tick)) {
        const k = key(u.output, u.row);
        const entry = live.get(k) ?? { output: u.output, row: u.row, n: 0 };
        entry.n += u.diff;
        expect(entry.n, `multiplicity of ${k} at tick ${tick}`).toBeGreaterThanOrEqual(0);
        if (entry.n === 0) live.delete(k);
        else live.set(k, entry);
        if (u.diff < 0 && u.output === AuctionOutput.bids) retractedBids++;
      }
      const auctions = [...live.values()].filter((e) => e.output === AuctionOutput.auctions);
      expect(auctions.length).toBe(Math.min(Number(tick) + 1, R));
      const ids = new Set(auctions.map((e) => e.row[0]));
      // The newest R auctions: ids tick - R + 2 ..= tick + 1.
      expect(Math.min(...[...ids].map(Number))).toBe(Math.max(1, Number(tick) - R + 2));
      for (const e of live.values()) {
        if (e.output === AuctionOutput.bids) expect(ids.has(e.row[2] as bigint)).toBe(true);
      }
    }
    expect(retractedBids).toBeGreaterThan(100);
    // The live set stays bounded: the population, R auctions and their bids.
    expect(live.size).toBeLessThan(
      ORGANIZATION_COUNT * 2 + USER_COUNT + R + R * MAX_BIDS_PER_TICK * 3,
    );
  });

  it("refuses a maxAuctions below the longest auction", () => {
    expect(() =>
      createLoadGenerator({ kind: "auction", maxAuctions: MAX_AUCTION_TICKS - 1 }, clock),
    ).toThrow(/maxAuctions/);
  });
});
