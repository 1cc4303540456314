/**
 * Waiting for a replica to hydrate (`hydration.ts`): woken by every write frontier the cluster's
 * controller reports (and a 250 ms tick), until the replica caught up, the timeout passed
 * (`ReplicaNotHydrated`) or the flip was aborted (the signal's reason is thrown).
 *
 * ## Invariants
 * - The frontier listener and the timers are removed on every way out.
 * - `onProgress` sees each new count of pending exports once (for the step text).
 */
import type { ClusterController } from "@mzts/controller-unified/state";
import type { ReplicaId } from "@mzts/repr";
import { ReplicaNotHydrated } from "./errors.js";
import { type HydrationMark, type HydrationProgress, hydrationOf } from "./hydration.js";

export interface HydrationWait {
  /** The cluster's controller (`Clusters.controllerOf`). */
  readonly controller: ClusterController;
  readonly replicaId: ReplicaId;
  /** How the replica is named in the error (e.g. `r1_pending (u9)`). */
  readonly label: string;
  readonly mark: HydrationMark;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly onProgress?: (p: HydrationProgress) => void;
}

/** Resolves once the replica has hydrated (see the file comment). */
export function awaitHydration(w: HydrationWait): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastPending = -1;
    const cleanups: (() => void)[] = [];
    const finish = (error?: unknown) => {
      for (const c of cleanups) c();
      if (error === undefined) resolve();
      else reject(error);
    };
    const check = () => {
      let p: HydrationProgress;
      try {
        p = hydrationOf(w.controller, w.replicaId, w.mark);
      } catch (e) {
        finish(e); // the replica or its cluster went away
        return;
      }
      if (p.pending.length !== lastPending) {
        lastPending = p.pending.length;
        w.onProgress?.(p);
      }
      if (p.hydrated) finish();
    };
    if (w.signal.aborted) {
      reject(w.signal.reason);
      return;
    }
    const deadline = setTimeout(() => {
      let pending: readonly string[] = [];
      try {
        pending = hydrationOf(w.controller, w.replicaId, w.mark).pending;
      } catch {
        // gone: report what we knew
      }
      finish(new ReplicaNotHydrated(w.label, w.timeoutMs, pending));
    }, w.timeoutMs);
    const tick = setInterval(check, 250);
    const onAbort = () => finish(w.signal.reason);
    w.signal.addEventListener("abort", onAbort, { once: true });
    const unlisten = w.controller.onWriteFrontier(() => check());
    cleanups.push(
      () => clearTimeout(deadline),
      () => clearInterval(tick),
      () => w.signal.removeEventListener("abort", onAbort),
      unlisten,
    );
    check();
  });
}
