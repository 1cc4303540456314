/**
 * The blob contract suite (see `blob/blob.ts`), instantiated per implementation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Blob } from "../blob/blob.js";

export interface BlobFactory {
  open(): Promise<Blob>;
  cleanup?(): Promise<void>;
}

export function describeBlobContract(name: string, factory: BlobFactory): void {
  describe(`blob contract: ${name}`, () => {
    let b: Blob;
    beforeEach(async () => {
      b = await factory.open();
    });
    afterEach(async () => {
      await b.close();
      await factory.cleanup?.();
    });

    it("get of a missing key is undefined; set then get returns the bytes", async () => {
      expect(await b.get("s1/a")).toBeUndefined();
      const v = Uint8Array.from([0, 1, 2, 255]);
      await b.set("s1/a", v);
      expect(Array.from((await b.get("s1/a"))!)).toEqual([0, 1, 2, 255]);
    });

    it("set replaces, delete is idempotent", async () => {
      await b.set("s1/a", Uint8Array.from([1]));
      await b.set("s1/a", Uint8Array.from([2, 2]));
      expect(Array.from((await b.get("s1/a"))!)).toEqual([2, 2]);
      await b.delete("s1/a");
      await b.delete("s1/a");
      expect(await b.get("s1/a")).toBeUndefined();
    });

    it("stores empty and large values", async () => {
      await b.set("s/empty", new Uint8Array(0));
      expect((await b.get("s/empty"))?.byteLength).toBe(0);
      const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => i % 251);
      await b.set("s/big", big);
      const got = (await b.get("s/big"))!;
      expect(got.byteLength).toBe(big.byteLength);
      expect(got[12345]).toBe(big[12345]);
    });

    it("list filters by prefix", async () => {
      await b.set("s1/a", Uint8Array.from([1]));
      await b.set("s1/b", Uint8Array.from([1]));
      await b.set("s2/a", Uint8Array.from([1]));
      expect((await b.list("s1/")).sort()).toEqual(["s1/a", "s1/b"]);
      expect((await b.list("")).sort()).toEqual(["s1/a", "s1/b", "s2/a"]);
      expect(await b.list("s3/")).toEqual([]);
    });

    it("the stored value is a copy", async () => {
      const v = Uint8Array.from([1, 2, 3]);
      await b.set("s/c", v);
      v[0] = 9;
      expect(Array.from((await b.get("s/c"))!)).toEqual([1, 2, 3]);
    });

    it("concurrent sets and deletes of one prefix do not fail", async () => {
      const ops: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) {
        ops.push(b.set(`p/k${i}`, Uint8Array.from([i])));
        if (i % 2 === 1) ops.push(b.delete(`p/k${i - 1}`));
      }
      await Promise.all(ops);
      const keys = await b.list("p/");
      for (let i = 1; i < 20; i += 2) expect(keys).toContain(`p/k${i}`);
    });
  });
}
