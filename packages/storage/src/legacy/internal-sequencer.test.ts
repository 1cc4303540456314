// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/** The legacy internal sequencer delivers one global order under reordered delivery. */
import { describe, expect, it } from "vitest";
import { InternalCommandSequencer, type InternalSequencerMessage } from "./internal-sequencer.js";

describe("InternalCommandSequencer", () => {
  it("gives every worker the same order, each source's commands in submission order", () => {
    const W = 3;
    const inbox: Array<[number, number, InternalSequencerMessage<string>]> = [];
    const seqs = Array.from(
      { length: W },
      (_, i) => new InternalCommandSequencer<string>(i, W, (to, msg) => inbox.push([i, to, msg])),
    );
    for (let k = 0; k < 10; k++) seqs[k % W]!.push(`w${k % W}-${k}`);
    // Deliver in a scrambled (but deterministic) order, each message once.
    let rnd = 7;
    const out: string[][] = Array.from({ length: W }, () => []);
    while (inbox.length > 0) {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      const [from, to, msg] = inbox.splice(rnd % inbox.length, 1)[0]!;
      seqs[to]!.receive(from, msg);
      for (const { cmd } of seqs[to]!.drain()) out[to]!.push(cmd);
    }
    for (const { cmd } of seqs[0]!.drain()) out[0]!.push(cmd);
    expect(out[0]).toHaveLength(10);
    expect(out[1]).toEqual(out[0]);
    expect(out[2]).toEqual(out[0]);
    for (let w = 0; w < W; w++) {
      const mine = out[0]!.filter((c) => c.startsWith(`w${w}-`));
      const ks = mine.map((c) => Number(c.split("-")[1]));
      expect(ks).toEqual([...ks].sort((a, b) => a - b));
    }
  });
});
