/**
 * The consensus contract suite (see `consensus/consensus.ts`), one function instantiated per
 * implementation: memory, SQLite and PostgreSQL run exactly the same tests.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Consensus } from "../consensus/consensus.js";

export interface ConsensusFactory {
  /** A fresh, empty consensus for one test. */
  open(): Promise<Consensus>;
  /** A second consensus over the same storage as the last `open()` (another "process"). */
  openAgain?(): Promise<Consensus>;
  /** Cleans up after one test. */
  cleanup?(): Promise<void>;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);

export function describeConsensusContract(name: string, factory: ConsensusFactory): void {
  describe(`consensus contract: ${name}`, () => {
    let c: Consensus;
    const extra: Consensus[] = [];
    beforeEach(async () => {
      c = await factory.open();
    });
    afterEach(async () => {
      for (const x of extra.splice(0)) await x.close();
      await c.close();
      await factory.cleanup?.();
    });

    it("head of an unknown key is undefined", async () => {
      expect(await c.head("k")).toBeUndefined();
      expect(await c.listKeys()).toEqual([]);
    });

    it("compareAndSet creates, advances and refuses stale expectations", async () => {
      expect(await c.compareAndSet("k", undefined, { seqNo: 1n, data: bytes("a") })).toBe(true);
      expect(await c.compareAndSet("k", undefined, { seqNo: 1n, data: bytes("x") })).toBe(false);
      expect(await c.compareAndSet("k", 1n, { seqNo: 2n, data: bytes("b") })).toBe(true);
      expect(await c.compareAndSet("k", 1n, { seqNo: 2n, data: bytes("y") })).toBe(false);
      const head = await c.head("k");
      expect(head?.seqNo).toBe(2n);
      expect(text(head?.data)).toBe("b");
      expect(await c.listKeys()).toEqual(["k"]);
    });

    it("rejects a seqno that is not expected + 1 (caller bug)", async () => {
      await expect(
        c.compareAndSet("k", undefined, { seqNo: 2n, data: bytes("a") }),
      ).rejects.toThrow(RangeError);
      expect(await c.compareAndSet("k", undefined, { seqNo: 1n, data: bytes("a") })).toBe(true);
      await expect(c.compareAndSet("k", 1n, { seqNo: 3n, data: bytes("a") })).rejects.toThrow(
        RangeError,
      );
    });

    it("keys are independent", async () => {
      expect(await c.compareAndSet("a", undefined, { seqNo: 1n, data: bytes("1") })).toBe(true);
      expect(await c.compareAndSet("b", undefined, { seqNo: 1n, data: bytes("2") })).toBe(true);
      expect(text((await c.head("a"))?.data)).toBe("1");
      expect(text((await c.head("b"))?.data)).toBe("2");
      expect((await c.listKeys()).sort()).toEqual(["a", "b"]);
    });

    it("stores binary data exactly", async () => {
      const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
      await c.compareAndSet("bin", undefined, { seqNo: 1n, data });
      expect(Array.from((await c.head("bin"))!.data)).toEqual(Array.from(data));
    });

    it("scan returns ascending entries from a seqno, limited", async () => {
      for (let i = 1n; i <= 5n; i++) {
        expect(
          await c.compareAndSet("k", i === 1n ? undefined : i - 1n, {
            seqNo: i,
            data: bytes(`v${i}`),
          }),
        ).toBe(true);
      }
      const all = await c.scan("k", 0n, 100);
      expect(all.map((e) => e.seqNo)).toEqual([1n, 2n, 3n, 4n, 5n]);
      const some = await c.scan("k", 2n, 2);
      expect(some.map((e) => [e.seqNo, text(e.data)])).toEqual([
        [2n, "v2"],
        [3n, "v3"],
      ]);
      expect(await c.scan("other", 0n, 10)).toEqual([]);
    });

    it("orders seqnos numerically (10 after 9)", async () => {
      for (let i = 1n; i <= 12n; i++) {
        await c.compareAndSet("k", i === 1n ? undefined : i - 1n, {
          seqNo: i,
          data: bytes(`v${i}`),
        });
      }
      expect((await c.head("k"))?.seqNo).toBe(12n);
      expect(text((await c.head("k"))?.data)).toBe("v12");
      expect((await c.scan("k", 8n, 3)).map((e) => e.seqNo)).toEqual([8n, 9n, 10n]);
      expect(await c.truncate("k", 10n)).toBe(9);
      expect((await c.scan("k", 0n, 100)).map((e) => e.seqNo)).toEqual([10n, 11n, 12n]);
    });

    it("truncate deletes below a seqno, keeps the head, refuses beyond the head", async () => {
      for (let i = 1n; i <= 4n; i++) {
        await c.compareAndSet("k", i === 1n ? undefined : i - 1n, {
          seqNo: i,
          data: bytes(`v${i}`),
        });
      }
      expect(await c.truncate("k", 3n)).toBe(2);
      expect((await c.scan("k", 0n, 10)).map((e) => e.seqNo)).toEqual([3n, 4n]);
      expect(await c.truncate("k", 3n)).toBe(0);
      await expect(c.truncate("k", 5n)).rejects.toThrow(RangeError);
      await expect(c.truncate("missing", 1n)).rejects.toThrow(RangeError);
      expect(await c.truncate("k", 4n)).toBe(1);
      expect((await c.head("k"))?.seqNo).toBe(4n);
      // After truncation the log still advances from the head.
      expect(await c.compareAndSet("k", 4n, { seqNo: 5n, data: bytes("v5") })).toBe(true);
      // And a stale "create" never succeeds on a truncated key.
      expect(await c.compareAndSet("k", undefined, { seqNo: 1n, data: bytes("x") })).toBe(false);
    });

    it("exactly one of many racing compareAndSets commits", async () => {
      await c.compareAndSet("race", undefined, { seqNo: 1n, data: bytes("0") });
      const others = factory.openAgain
        ? [await factory.openAgain(), await factory.openAgain()]
        : [];
      extra.push(...others);
      const stores = [c, ...others];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores[i % stores.length]!.compareAndSet("race", 1n, { seqNo: 2n, data: bytes(`w${i}`) }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(text((await c.head("race"))?.data)).toBe(`w${winner}`);
    });

    it("a second handle over the same storage sees committed entries", async () => {
      if (!factory.openAgain) return;
      const other = await factory.openAgain();
      extra.push(other);
      await c.compareAndSet("shared", undefined, { seqNo: 1n, data: bytes("from c") });
      expect(text((await other.head("shared"))?.data)).toBe("from c");
      expect(
        await other.compareAndSet("shared", 1n, { seqNo: 2n, data: bytes("from other") }),
      ).toBe(true);
      expect((await c.head("shared"))?.seqNo).toBe(2n);
    });

    it("rejects calls after close", async () => {
      const other = factory.openAgain ? await factory.openAgain() : undefined;
      if (other === undefined) return;
      await other.close();
      await expect(other.head("k")).rejects.toThrow(/closed/);
    });
  });
}
