/**
 * `@mzts/controller-unified/testing`: checks every replica task behind the seam must pass, for
 * the tests of the packages that implement it (not used by the running system).
 */
export { type ListenerLeakReport, measureAbortListeners } from "./listener-leak.js";
