/**
 * Tests only — an ad-hoc probe (not a bench; the next slice's 10k-dataflow bench replaces it):
 * heap and status cost of 10 clusters × 1000 indexes over 50 sources, unified vs legacy.
 * `node --expose-gc --import tsx src/state/testdata/mem-probe.ts unified|legacy`
 */
import { ClusterState } from "../cluster-state.js";
import { LegacyCluster, LOGGING } from "./legacy-cluster.js";
import { indexedView, ingestion } from "./objects.js";
import { flush } from "./scenario.js";

const CLUSTERS = 10,
  DATAFLOWS = 1000,
  SOURCES = 50;
const gc = (globalThis as { gc?: () => void }).gc!;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

async function unified() {
  const base = heap();
  const states: ClusterState[] = [];
  for (let c = 0; c < CLUSTERS; c++) {
    const s = new ClusterState({ clusterId: `u${c + 1}`, generation: 1n, logging: LOGGING });
    s.addReplica("u1");
    s.addReplica("u2");
    let id = 1000;
    const subs: string[] = [];
    for (let i = 0; i < SOURCES; i++) {
      const src = `u${id++}`,
        sub = `u${id++}`;
      s.createIngestion(src, ingestion(sub));
      subs.push(sub);
    }
    for (let i = 0; i < DATAFLOWS; i++)
      s.createDataflow(indexedView(`u${id++}`, 0n, [subs[i % SOURCES]!]));
    for (const cid of s.collectionIds())
      for (const r of ["u1", "u2"])
        s.absorb(
          r,
          1,
          cid.length > 0 && s.describe(cid).workload === "storage"
            ? { kind: "storage", response: { kind: "frontierUpper", id: cid, upper: 5000n } }
            : {
                kind: "compute",
                response: { kind: "frontiers", id: cid, frontiers: { write: 5000n, input: 5000n } },
              },
        );
    s.takeOutbox();
    s.takeEvents();
    s.history();
    states.push(s);
  }
  const bytes = heap() - base;
  const t0 = performance.now();
  for (let k = 0; k < 100; k++)
    for (const s of states) {
      s.sizes();
      s.health();
    }
  const statusMs = (performance.now() - t0) / 100;
  const t1 = performance.now();
  for (const s of states) s.tick(1000);
  const tickMs = performance.now() - t1;
  console.log(
    JSON.stringify({
      path: "unified",
      heapMB: +(bytes / 2 ** 20).toFixed(1),
      perObjectBytes: Math.round(bytes / (CLUSTERS * (DATAFLOWS + 2 * SOURCES))),
      statusAll10Ms: +statusMs.toFixed(3),
      tickAll10Ms: +tickMs.toFixed(2),
      history: states[0]!.sizes().history,
    }),
  );
  return states;
}

async function legacy() {
  const base = heap();
  const ls: LegacyCluster[] = [];
  for (let c = 0; c < CLUSTERS; c++) {
    const l = await LegacyCluster.create(1000n);
    l.addReplica("u1");
    l.addReplica("u2");
    await flush();
    let id = 1000;
    const subs: string[] = [];
    for (let i = 0; i < SOURCES; i++) {
      const src = `u${id++}`,
        sub = `u${id++}`;
      await l.createSource(src, ingestion(sub));
      subs.push(sub);
    }
    const views: string[] = [];
    for (let i = 0; i < DATAFLOWS; i++) {
      const v = `u${id++}`;
      views.push(v);
      l.createDataflow(v, indexedView(v, 0n, [subs[i % SOURCES]!]));
    }
    await flush();
    for (const r of ["u1", "u2"]) {
      for (const sub of subs) l.storageRespond(r, { kind: "frontierUpper", id: sub, upper: 5000n });
      for (const v of views)
        l.computeRespond(r, {
          kind: "frontiers",
          id: v,
          frontiers: { write: 5000n, input: 5000n },
        });
    }
    await l.tick();
    ls.push(l);
  }
  await flush();
  const bytes = heap() - base;
  const t0 = performance.now();
  for (let k = 0; k < 100; k++)
    for (const l of ls) {
      l.compute.replicas("u1");
      l.storage.replicas("u1");
      l.compute.historySize("u1");
    }
  const statusMs = (performance.now() - t0) / 100;
  console.log(
    JSON.stringify({
      path: "legacy",
      heapMB: +(bytes / 2 ** 20).toFixed(1),
      perObjectBytes: Math.round(bytes / (CLUSTERS * (DATAFLOWS + 2 * SOURCES))),
      statusAll10Ms: +statusMs.toFixed(3),
    }),
  );
  for (const l of ls) await l.close();
}

const which = process.argv[2];
if (which === "unified") await unified();
else await legacy();
