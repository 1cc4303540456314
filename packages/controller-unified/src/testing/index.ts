/**
 * `@mzts/controller-unified/testing`: checks every replica task behind the seam must pass, and a
 * TCP proxy that stalls or drops a replica's traffic (`startStallProxy`), for
 * the tests of the packages that implement it (not used by the running system).
 */
export { type ListenerLeakReport, measureAbortListeners } from "./listener-leak.js";
export { type StallProxy, startStallProxy } from "./stall-proxy.js";
