/**
 * `@mzts/controller-unified/testing`: checks every replica task behind the seam must pass (no
 * abort-listener pile-up, one stream message per event-loop turn; for compute, peek answers
 * nobody awaits dropped undecoded), a TCP proxy that stalls or drops a replica's traffic
 * (`startStallProxy`) and a Connect server whose GOAWAY a client's stream races
 * (`startGoawayRace`), for the tests of the packages that implement it (not used by the running
 * system); and the
 * phase 5 fakes a `ClusterController` test outside this package needs (environmentd's legacy
 * adapter tests): an in-memory `ReplicaConnector` (`createFakeConnector`), in-memory since
 * handles (`fakeSinceHandles`), object builders (`ingestion`, `indexedView`), and the fakes under
 * a legacy test cluster (`LegacyClusterFakes`: both replica seams, the in-memory persist
 * `fakePersist`, the parts' options; `LEGACY_CLUSTER`, `LEGACY_LOGGING`) and the unified driver
 * over the same fakes (`unifiedCluster`).
 */

export {
  createFakeConnector,
  type FakeConnector,
  type FakeIncarnation,
} from "../state/testdata/fake-connector.js";
export { type FakeSinceHandles, fakeSinceHandles } from "../state/testdata/fake-since-handles.js";
export {
  CLUSTER as LEGACY_CLUSTER,
  fakePersist,
  LegacyClusterFakes,
  LOGGING as LEGACY_LOGGING,
} from "../state/testdata/legacy-fakes.js";
export { indexedView, ingestion } from "../state/testdata/objects.js";
export {
  type UnifiedCluster,
  type UnifiedClusterExtras,
  unifiedCluster,
} from "../state/testdata/unified-cluster.js";
export { type CoalescingReport, measureCoalescing } from "./coalescing.js";
export { type GoawayRace, startGoawayRace } from "./goaway-race.js";
export { type ListenerLeakReport, measureAbortListeners } from "./listener-leak.js";
export {
  AWAITED_PEEK,
  measurePeekSkipping,
  type PeekSkippingReport,
  type PeekSkippingWire,
  UNAWAITED_PEEK,
} from "./peek-skipping.js";
export { type StallProxy, startStallProxy } from "./stall-proxy.js";
