/**
 * `@mzts/controller-unified/testing`: checks every replica task behind the seam must pass (no
 * abort-listener pile-up, one stream message per event-loop turn), and a
 * TCP proxy that stalls or drops a replica's traffic (`startStallProxy`), for
 * the tests of the packages that implement it (not used by the running system); and the
 * phase 5 fakes a `ClusterController` test outside this package needs (environmentd's legacy
 * adapter tests): an in-memory `ReplicaConnector` (`createFakeConnector`), in-memory since
 * handles (`fakeSinceHandles`) and object builders (`ingestion`, `indexedView`).
 */

export {
  createFakeConnector,
  type FakeConnector,
  type FakeIncarnation,
} from "../state/testdata/fake-connector.js";
export { type FakeSinceHandles, fakeSinceHandles } from "../state/testdata/fake-since-handles.js";
export { indexedView, ingestion } from "../state/testdata/objects.js";
export { type CoalescingReport, measureCoalescing } from "./coalescing.js";
export { type ListenerLeakReport, measureAbortListeners } from "./listener-leak.js";
export { type StallProxy, startStallProxy } from "./stall-proxy.js";
