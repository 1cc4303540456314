/**
 * Tests only (@internal): the places in Node's event loop a callback can run — at once, as a
 * microtask, on the next tick, as an immediate, as a 0 ms timer — so a test can deliver each event
 * in every phase and show that no wake-up depends on the phase it arrives in.
 */
export type Phase = (f: () => void) => void;

export const PHASES: readonly Phase[] = [
  (f) => f(),
  (f) => queueMicrotask(f),
  (f) => process.nextTick(f),
  (f) => setImmediate(f),
  (f) => setTimeout(f, 0),
];
