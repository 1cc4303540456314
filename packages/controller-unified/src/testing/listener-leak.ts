/**
 * A seam-level check that a `ReplicaConnector`'s task does not pile up abort listeners while its
 * replica is unreachable (issue 10: one listener per connect attempt or pause raised
 * `MaxListenersExceededWarning` after about a dozen replica kills). Every replica task behind the
 * seam — both legacy tasks now, the unified one of phase 3 later — runs the same check.
 *
 * Flow: a loopback TCP server accepts and closes every connection, so each connect attempt fails
 * fast, as while a replica restarts; the task is started with a 1–2 ms backoff; while it retries,
 * every AbortSignal it listens on is recorded (by wrapping `EventTarget.addEventListener`), and
 * once `attempts` connections were refused the most listeners on any of them is reported.
 */
import { getEventListeners } from "node:events";
import { createServer } from "node:net";
import type { ReplicaConnectionState, ReplicaConnector } from "../replicas/replica-connection.js";
import { checkTaskOptions } from "./check-options.js";

export interface ListenerLeakReport {
  /** TCP connections the server refused (≥ the attempts asked for unless the deadline passed). */
  readonly attempts: number;
  /** The task's state while it retries (expected: connecting). */
  readonly state: ReplicaConnectionState;
  /** The most abort listeners on any signal the task listened on. */
  readonly mostListeners: number;
}

/** Runs `connector` against an unreachable replica until `attempts` connects failed. */
export async function measureAbortListeners<C, R>(
  connector: ReplicaConnector<C, R>,
  attempts = 25,
  deadlineMs = 20_000,
): Promise<ListenerLeakReport> {
  let refused = 0;
  const server = createServer((socket) => {
    refused++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const url = `http://127.0.0.1:${address.port}`;
  const signals = new Set<AbortSignal>();
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (this: EventTarget, ...args) {
    if (this instanceof AbortSignal) signals.add(this);
    return add.apply(this, args);
  } as typeof add;
  const task = connector(
    checkTaskOptions<C, R>(url, [], { tuning: { backoff: { initialMs: 1, maxMs: 2, jitter: 0 } } }),
  );
  try {
    const deadline = Date.now() + deadlineMs;
    while (refused < attempts && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const mostListeners = Math.max(
      0,
      ...[...signals].map((s) => getEventListeners(s, "abort").length),
    );
    return { attempts: refused, state: task.state, mostListeners };
  } finally {
    EventTarget.prototype.addEventListener = add;
    await task.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
