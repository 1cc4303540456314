/**
 * Tests only: whether a promise settles (resolves or rejects) within a few event-loop turns — for
 * asserting that a call is still waiting (e.g. on `Clusters.ready` during a rebuild).
 */
export async function settles(p: Promise<unknown>, turns = 5): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  return done;
}
