/**
 * The replica-connection seam (style §15): what an instance needs from "a task that talks to one
 * replica incarnation". The legacy implementation is `legacy/replica-task.ts` (one compute gRPC
 * stream per replica); the unified one will live in `controller-unified/src/replicas/`.
 *
 * ## Contract
 * - One connection object = one incarnation (epoch) of one replica. When its stream opens it
 *   reads the reduced command history to replay (`replay()`, starting with a `hello` whose nonce
 *   it rewrites) and then sends the live commands given to `send`, in order. Commands sent before
 *   the stream opened are already in that history (the instance pushes every command into it
 *   before sending), so they are not queued: a replica that reconciles sees every dataflow the
 *   instance had when it connected, not just those it had when the incarnation started.
 * - It connects with retry until `close()`; once connected, **any** error (stream ended, transport
 *   failure, keepalive timeout, malformed response) ends it: `onFailed` is called exactly once and
 *   nothing is delivered afterwards. The instance then builds a new incarnation with epoch + 1.
 * - Every delivered response is tagged with the incarnation's epoch; the instance discards
 *   responses of other epochs.
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import type { Logger } from "pino";

/** Where a replica's compute endpoint listens. */
export interface ReplicaLocation {
  /** `http://host:port` of the replica's compute gRPC endpoint (h2c). */
  readonly computeUrl: string;
}

/** Connection states, in the order a healthy incarnation goes through them. */
export type ReplicaConnectionState = "connecting" | "connected" | "failed" | "closed";

/** What an instance passes to a new incarnation. */
export interface ReplicaConnectionOptions {
  readonly instanceId: string;
  readonly replicaId: string;
  /** The incarnation: 1 for the first, + 1 per rehydration. */
  readonly epoch: number;
  /** The environment generation, sent in every hello. */
  readonly generation: bigint;
  /** Read at every connect attempt: a restarted replica may listen elsewhere. */
  readonly location: () => ReplicaLocation;
  /**
   * The reduced history to replay, read when the stream opens (its `hello` gets a fresh nonce
   * per connection). It must hold every command `send` was given before that moment.
   */
  readonly replay: () => readonly ComputeCommand[];
  readonly logger: Logger;
  /** Called once per successful connection. */
  onConnected(epoch: number): void;
  /** Responses, in arrival order. */
  onResponses(epoch: number, responses: readonly ComputeResponse[]): void;
  /** Called once, when a connected incarnation fails. */
  onFailed(epoch: number, error: Error): void;
  /** Called for every command written to the stream (metrics). */
  onCommandSent?(command: ComputeCommand): void;
  /** Keepalive and retry tuning (defaults in the implementation). */
  readonly tuning?: ReplicaConnectionTuning;
}

/** Timeouts and backoff of a replica connection. */
export interface ReplicaConnectionTuning {
  /** First retry delay (125 ms); doubled per failure. */
  readonly backoffInitialMs?: number;
  /** Largest retry delay (1 s). */
  readonly backoffMaxMs?: number;
  /** HTTP/2 PING interval on the open stream (1 s). */
  readonly pingIntervalMs?: number;
  /** A PING unanswered for this long kills the connection (2 s). */
  readonly pingTimeoutMs?: number;
  /** A connection attempt taking longer fails (5 s). */
  readonly connectTimeoutMs?: number;
}

/** One incarnation of a replica, as seen by its instance. */
export interface ReplicaConnection {
  readonly epoch: number;
  readonly state: ReplicaConnectionState;
  /** Live commands (after the replay; before the stream opens they are in it). Ignored once failed or closed. */
  send(commands: readonly ComputeCommand[]): void;
  /** Stops the incarnation (no `onFailed`); resolves when its loop has exited. */
  close(): Promise<void>;
}

/** Builds an incarnation; the instance's seam to the legacy or unified implementation. */
export type ReplicaConnector = (options: ReplicaConnectionOptions) => ReplicaConnection;
