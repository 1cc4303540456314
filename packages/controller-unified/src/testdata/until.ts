/**
 * Tests only: polls `cond` every few milliseconds until it holds, or fails naming `what` after
 * `timeoutMs` (the tests that wait for a real or fake replica's stream).
 */
export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
