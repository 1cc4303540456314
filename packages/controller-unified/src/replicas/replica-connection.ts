/**
 * The replica-connection seam (style §15): what a controller instance (one cluster) needs from
 * "a task that talks to one incarnation of one replica", for either protocol. `C` is the command
 * type sent to the replica, `R` the response type it answers with (compute: `ComputeCommand` /
 * `ComputeResponse`; storage: `StorageCommand` / `StorageResponse`; phase 4: the cluster stream's).
 *
 * Implementations: the legacy tasks `compute-client/src/legacy/replica-task.ts` and
 * `storage-client/src/legacy/replica-task.ts` (deliberately separate: they are the drift that
 * phase 3 removes), and the unified task `replica-task.ts` (phase 3), one for both protocols.
 * A controller takes its `ReplicaConnector` **per instance** (per cluster), chosen by
 * environmentd's composition root from that cluster's `PhaseSet`; no controller has a default.
 *
 * ## Contract
 * 1. One connection object = one incarnation (`epoch`) of one replica. It connects with retry
 *    (`backoffDelayMs`; `location()` is read at every attempt, a restarted replica may listen
 *    elsewhere) until it is connected or closed; nothing is sent before it is connected.
 * 2. Connected: `onConnected(epoch)` once; the stream opens with a `hello` carrying a fresh nonce
 *    and `generation`, then `replay()` — read at that moment — then every command given to
 *    `send`, in order. Commands sent before the stream opened are in the replay (the instance
 *    pushes every command into its history before sending), so they are not queued.
 * 3. Responses are delivered in arrival order, tagged with the epoch (`onResponses`); the
 *    instance discards other epochs. A compute task may leave out the peek answers `awaitsPeek`
 *    rejects, undecoded (a malformed one it does decode still fails the incarnation).
 * 4. Once connected, **any** error (stream ended, transport failure, keepalive timeout, malformed
 *    response) ends the incarnation: `onFailed(epoch, error)` exactly once, then nothing more is
 *    delivered. The instance decides when to start epoch + 1: by the connector's `rehydration`
 *    policy when it has one (the unified task's), otherwise by its own (legacy) policy.
 * 5. `close()` ends it from any state without `onFailed` and resolves when its loop has exited;
 *    no callback fires afterwards.
 *
 * ## State machine
 * `connecting → connected → failed`, or `→ closed` from `connecting`/`connected`; never back.
 */
import type { Logger } from "pino";
import type { Backoff } from "./backoff.js";
import type { RehydrationPolicy } from "./rehydration.js";

/** Connection states, in the order a healthy incarnation goes through them. */
export type ReplicaConnectionState = "connecting" | "connected" | "failed" | "closed";

/** Timeouts and backoff of a replica connection; each implementation documents its defaults. */
export interface ReplicaConnectionTuning {
  /** Reconnect backoff (default `DEFAULT_BACKOFF`: 125 ms doubling, capped at 1 s, ±20 %). */
  readonly backoff?: Backoff;
  /** The jitter's random source in `[0, 1)` (tests; default `Math.random`). */
  readonly random?: () => number;
  /** HTTP/2 PING interval on the open stream. */
  readonly pingIntervalMs?: number;
  /** A PING unanswered for this long kills the connection. */
  readonly pingTimeoutMs?: number;
  /** A connection attempt (the first PING) taking longer fails. */
  readonly connectTimeoutMs?: number;
}

/** What an instance passes to a new incarnation of one of its replicas. */
export interface ReplicaConnectionOptions<C, R> {
  /** The instance (cluster) id, for logs. */
  readonly instanceId: string;
  readonly replicaId: string;
  /** The incarnation: 1 for the first, + 1 per rehydration. */
  readonly epoch: number;
  /** The environment generation, sent in every hello (replicas fence older ones). */
  readonly generation: bigint;
  /**
   * The environment's replica secret: every hello carries its proof (`signHello` of
   * `@mzts/protocol`). Absent = unsigned hellos, which only `--insecure-no-auth` replicas take.
   */
  readonly replicaSecret?: Uint8Array;
  /** The replica endpoint's `http://host:port` (h2c); read at every connect attempt. */
  readonly location: () => string;
  /**
   * The commands to replay after the hello, read when the stream opens. It must hold every
   * command `send` was given before that moment. A `hello` in it is replaced by a fresh one.
   */
  readonly replay: () => readonly C[];
  readonly logger: Logger;
  /** Called once per successful connection. */
  onConnected(epoch: number): void;
  /**
   * Responses, in arrival order; `arrivedAt`: when their stream message arrived
   * (`performance.now()`, before its decode; a peek trace's `replied`), if the task says.
   */
  onResponses(epoch: number, responses: readonly R[], arrivedAt?: number): void;
  /**
   * Whether the instance still waits for an answer to peek `uuid` (compute). A peek answer it
   * does not wait for (another replica answered first, the peek was canceled) may be dropped
   * before it is decoded (issue 16) — only once it was checked to be well-framed — and is then
   * not delivered. Asked at most once per answer. Absent: every response is decoded and delivered.
   */
  awaitsPeek?(uuid: string): boolean;
  /** Called once, when a connected incarnation fails. */
  onFailed(epoch: number, error: Error): void;
  /** Called for every command written to the stream (metrics). */
  onCommandSent?(command: C): void;
  readonly tuning?: ReplicaConnectionTuning;
}

/**
 * One incarnation of a replica, as seen by its instance. `R` names the responses its options
 * deliver (`onResponses`), so a pair such as `ReplicaConnection<ComputeCommand, ComputeResponse>`
 * reads as one protocol.
 */
// biome-ignore lint/correctness/noUnusedVariables: R pairs the connection with its responses.
export interface ReplicaConnection<C, R = unknown> {
  readonly epoch: number;
  readonly state: ReplicaConnectionState;
  /** Live commands (after the replay). Ignored before the stream opens and once failed or closed. */
  send(commands: readonly C[]): void;
  /** Stops the incarnation (no `onFailed`); resolves when its loop has exited. */
  close(): Promise<void>;
  /**
   * The replica was seen (re)starting at its location: the next connection attempt goes now, not
   * after the rest of its backoff (`RetryKick`). No effect on a connected incarnation.
   */
  retryNow?(): void;
}

/**
 * Builds an incarnation: the seam between an instance and the legacy or unified replica task.
 * Given to a controller per instance (cluster).
 */
export interface ReplicaConnector<C, R> {
  (options: ReplicaConnectionOptions<C, R>): ReplicaConnection<C, R>;
  /**
   * When the next incarnation starts after a failure, if this implementation decides it (the
   * unified task: one policy for both controllers, `rehydration.ts`). Absent (the legacy tasks):
   * each instance applies its own legacy policy.
   */
  readonly rehydration?: RehydrationPolicy;
}
