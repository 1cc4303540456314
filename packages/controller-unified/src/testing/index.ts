/**
 * `@mzts/controller-unified/testing`: checks every replica task behind the seam must pass (no
 * abort-listener pile-up, one stream message per event-loop turn), and a
 * TCP proxy that stalls or drops a replica's traffic (`startStallProxy`), for
 * the tests of the packages that implement it (not used by the running system).
 */
export { type CoalescingReport, measureCoalescing } from "./coalescing.js";
export { type ListenerLeakReport, measureAbortListeners } from "./listener-leak.js";
export { type StallProxy, startStallProxy } from "./stall-proxy.js";
