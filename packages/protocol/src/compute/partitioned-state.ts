/**
 * Merging the compute responses of the N parts (worker threads) of one process into the
 * responses of the process, before they leave it (materialize.md §1.5, design §4). Used by the
 * process server (per worker) and usable by a controller over several processes.
 *
 * It must work from responses alone: parts other than worker 0 see commands only through the
 * sequencer, and the only command the state inspects is `updateConfiguration`
 * (`maxResultSize`).
 *
 * ## Merge rules
 * - **Frontiers** (per collection, per kind write/input/output): each part's frontier starts at
 *   the minimum; the merged frontier is the meet over parts, reported only when it strictly
 *   advances (`CollectionFrontiers`). A collection is forgotten once all kinds are empty. When
 *   every reported kind's meet advanced to the part's own value (always so with one part), the
 *   part's response is passed on as is: no new response per report.
 * - **Peeks**: answers are accumulated per uuid until all N parts answered (two answers from one
 *   part are a bug); with one part its answer passes on as is (the same object) unless its rows
 *   exceed `maxResultSize`. Precedence `canceled` > `error` > `rows`, independent of arrival order: the
 *   error of the lowest part index wins, rows concatenate in part order. Rows whose packed size
 *   exceeds `maxResultSize` become the error "total result exceeds max size of N bytes".
 *   A part's answer with rows may arrive encoded (`PeekRowsFrame`, written by the worker:
 *   `codec/peek-answer-frames.ts`): when it is the only part with rows (or every part's rows are
 *   empty), the answer is that frame, passed through undecoded (`FramedPeekResponse`); its size
 *   is the frame's packed rows' length. Frames are decoded only to concatenate several parts'
 *   rows.
 * - **Subscribes**: per subscribe the parts' uppers (meet), a stash of updates and a sticky error.
 *   When the meet advances from `old` to `new`, one batch `[old, new)` is released with the
 *   stashed updates at times `< new` (consolidated; the parts' batches already are, so they are
 *   merged as runs and one part's batch passes as is, `consolidated-runs.ts`); the rest stays
 *   stashed. An error from any
 *   part replaces every later batch's updates; a released batch larger than `maxResultSize`
 *   becomes an error. After `droppedAt` from any part no batch is released; once every part
 *   dropped it (or reached the empty upper), one `droppedAt(last released upper)` is sent and the
 *   subscribe forgotten.
 * - **Status** passes through; a **commandError** is forwarded once (the first copy).
 *
 * ## Example flow (N = 2)
 * 1. part 0: frontiers(u1, write [5]) → nothing (part 1 is still at [0]).
 * 2. part 1: frontiers(u1, write [3]) → frontiers(u1, write [3]).
 * 3. part 1: peekResponse(p, rows A) → nothing; part 0: peekResponse(p, rows B) →
 *    peekResponse(p, rows B ++ A): part order, whatever the arrival order.
 * 4. part 0: subscribe batch [0, 4) with u@2 → nothing; part 1: batch [0, 6) with v@5 →
 *    batch [0, 4) with u@2 (v@5 stays stashed until the meet passes 5).
 */
import {
  Frontier,
  type GlobalId,
  InvariantViolation,
  PartitionedFrontier,
  type Row,
  RowPacker,
  type Update,
} from "@mzts/repr";
import { CommandErrorMerge } from "../cluster/command-error-merge.js";
import {
  FramedPeekResponse,
  isPeekRowsFrame,
  type PeekRowsFrame,
  peekRowsOfFrame,
} from "../codec/peek-answer-frames.js";
import { CollectionFrontiers, INPUT, OUTPUT, WRITE } from "./collection-frontiers.js";
import type { ComputeCommand } from "./command.js";
import { releaseRuns } from "./consolidated-runs.js";
import type { ComputeResponse, PeekResponse } from "./response.js";

type FrontiersResponse = Extract<ComputeResponse, { kind: "frontiers" }>;
/** A part's answer to a peek: decoded, or its rows encoded by the worker. */
type PartAnswer = PeekResponse | PeekRowsFrame;

const UNLIMITED = (1n << 64n) - 1n;

/** The error text of an oversized result (tests and the controller match it). */
export function maxResultSizeError(max: bigint): string {
  return `total result exceeds max size of ${max} bytes`;
}

/**
 * A limit no packed result can exceed: a buffer holds fewer than 2^53 bytes. The replica runs
 * with the unlimited default unless a controller sets `maxResultSize`, so the merge does not pack
 * every peek answer and subscribe batch only to measure it (issue 16).
 */
const BEYOND_ANY_BUFFER = BigInt(Number.MAX_SAFE_INTEGER);

/** True when `rows` packed, as `RowBatch` carries them (each row once), exceed `max` bytes. */
function exceeds(rows: readonly (readonly [Row, ...unknown[]])[], max: bigint): boolean {
  if (max >= BEYOND_ANY_BUFFER) return false;
  const p = new RowPacker();
  for (const [row] of rows) p.pack(row);
  return BigInt(p.length) > max;
}

/** Per-subscribe merge state. */
interface SubscribeState {
  /** Meet of the parts' uppers; starts at the minimum for every part. */
  readonly uppers: PartitionedFrontier;
  /** Upper of the last released batch; `undefined` until the first release. */
  released: Frontier | undefined;
  /** Meet of the lowers seen before the first release (the lower of the first batch). */
  firstLower: Frontier | undefined;
  /** Updates received and not yet released: one run per part's batch (`consolidated-runs.ts`). */
  stash: (readonly Update[])[];
  /** First error from any part; sticky. */
  error: string | undefined;
  /** Parts that sent `droppedAt` (or reached the empty upper). */
  readonly finished: Set<number>;
  /** True once any part sent `droppedAt`: batches are no longer released. */
  dropping: boolean;
}

/** Merges the compute responses of N parts. */
export class PartitionedComputeState {
  /** Number of parts (workers); fixed. */
  readonly #parts: number;
  /** Largest packed result in bytes; set by `updateConfiguration`, initially unlimited. */
  #maxResultSize = UNLIMITED;
  /** Collection id → per-kind meet of part frontiers; deleted when every kind is empty. */
  readonly #frontiers = new Map<GlobalId, CollectionFrontiers>();
  /** Peek uuid → answers by part and their count; deleted when all parts answered. */
  readonly #peeks = new Map<
    string,
    { count: number; readonly byPart: (PartAnswer | undefined)[] }
  >();
  /** Subscribe id → merge state; deleted after the final batch or `droppedAt`. */
  readonly #subscribes = new Map<GlobalId, SubscribeState>();
  /** Dedup of command errors. */
  readonly #errors: CommandErrorMerge;

  constructor(parts: number) {
    if (!Number.isInteger(parts) || parts < 1) {
      throw new InvariantViolation(`PartitionedComputeState needs at least one part, got ${parts}`);
    }
    this.#parts = parts;
    this.#errors = new CommandErrorMerge(parts);
  }

  /** Number of parts. */
  get parts(): number {
    return this.#parts;
  }

  /** Observes a command sent to every part (only `updateConfiguration` matters). */
  observeCommand(cmd: ComputeCommand): void {
    if (cmd.kind === "updateConfiguration" && cmd.params.maxResultSize !== undefined) {
      this.#maxResultSize = cmd.params.maxResultSize;
    }
  }

  /**
   * Absorbs part `part`'s response and returns the merged responses to send on (often none).
   * @throws InvariantViolation on a bug of a part (two peek answers, unknown part index).
   * @throws FrontierRegression when a part's frontier moves backward.
   */
  absorb(part: number, r: ComputeResponse): ComputeResponse[] {
    if (!Number.isInteger(part) || part < 0 || part >= this.#parts) {
      throw new InvariantViolation(`no part ${part} (parts: ${this.#parts})`);
    }
    if (isPeekRowsFrame(r)) return this.absorbFrame(part, r);
    switch (r.kind) {
      case "frontiers":
        return this.#absorbFrontiers(part, r);
      case "peekResponse":
        // One part: its answer is the process's (only the size limit can change it), no
        // bookkeeping per peek.
        if (this.#parts === 1 && (r.response.kind !== "rows" || !this.#tooLarge(r.response.rows)))
          return [r];
        return this.#absorbPeek(part, r.uuid, r.response);
      case "subscribeResponse":
        return this.#absorbSubscribe(part, r);
      case "status":
        return [r];
      case "commandError":
        return this.#errors.absorb(r.error) ? [r] : [];
    }
  }

  /**
   * Absorbs part `part`'s peek answer encoded by its worker (`PeekRowsFrame`), as `absorb` does
   * a decoded one. @throws InvariantViolation as `absorb`.
   */
  absorbFrame(part: number, frame: PeekRowsFrame): ComputeResponse[] {
    if (!Number.isInteger(part) || part < 0 || part >= this.#parts) {
      throw new InvariantViolation(`no part ${part} (parts: ${this.#parts})`);
    }
    if (this.#parts === 1) {
      return [
        this.#frameTooLarge(frame) ? this.#sizeError(frame.uuid) : new FramedPeekResponse(frame),
      ];
    }
    return this.#absorbPeek(part, frame.uuid, frame);
  }

  #absorbFrontiers(part: number, r: FrontiersResponse): ComputeResponse[] {
    const { id, frontiers: f } = r;
    let state = this.#frontiers.get(id);
    if (state === undefined) {
      state = new CollectionFrontiers(this.#parts);
      this.#frontiers.set(id, state);
    }
    const write = f.write === undefined ? undefined : state.set(id, WRITE, part, f.write);
    const input = f.input === undefined ? undefined : state.set(id, INPUT, part, f.input);
    const output = f.output === undefined ? undefined : state.set(id, OUTPUT, part, f.output);
    if (state.isEmpty) this.#frontiers.delete(id);
    if (write === undefined && input === undefined && output === undefined) return [];
    // Every reported kind advanced to the part's value (always so with one part): pass it on.
    if (write === f.write && input === f.input && output === f.output) return [r];
    const merged: { write?: Frontier; input?: Frontier; output?: Frontier } = {};
    if (write !== undefined) merged.write = write;
    if (input !== undefined) merged.input = input;
    if (output !== undefined) merged.output = output;
    return [{ kind: "frontiers", id, frontiers: merged }];
  }

  #absorbPeek(part: number, uuid: string, response: PartAnswer): ComputeResponse[] {
    let answers = this.#peeks.get(uuid);
    if (answers === undefined) {
      answers = { count: 0, byPart: new Array<PartAnswer | undefined>(this.#parts) };
      this.#peeks.set(uuid, answers);
    }
    if (answers.byPart[part] !== undefined) {
      throw new InvariantViolation(`part ${part} answered peek ${uuid} twice`);
    }
    answers.byPart[part] = response;
    if (++answers.count < this.#parts) return [];
    this.#peeks.delete(uuid);
    return [this.#mergePeek(uuid, answers.byPart)];
  }

  /**
   * The parts whose answers to peek `uuid` arrived while it waits for the others (diagnostics:
   * a replica's overdue-peek report); `undefined` when no part answered it yet, or with one part
   * (whose answer passes on at once).
   */
  answeredParts(uuid: string): number[] | undefined {
    const answers = this.#peeks.get(uuid);
    if (answers === undefined) return undefined;
    const parts: number[] = [];
    for (let p = 0; p < this.#parts; p++) if (answers.byPart[p] !== undefined) parts.push(p);
    return parts;
  }

  /** The answer of the process from every part's, indexed by part (all present). */
  #mergePeek(uuid: string, byPart: readonly (PartAnswer | undefined)[]): ComputeResponse {
    let error: PeekResponse | undefined;
    /** The only part with rows so far (its rows are the answer's), or -1; -2: several. */
    let withRows = -1;
    /** A part answered with a frame (the answer when no part has rows), or -1. */
    let framed = -1;
    for (let i = 0; i < byPart.length; i++) {
      const r = byPart[i] as PartAnswer;
      if (r.kind === "peekRowsFrame") {
        if (framed === -1) framed = i;
        if (r.rows > 0) withRows = withRows === -1 ? i : -2;
      } else if (r.kind === "canceled") return { kind: "peekResponse", uuid, response: r };
      else if (r.kind === "error") error ??= r;
      else if (r.rows.length > 0) withRows = withRows === -1 ? i : -2;
    }
    if (error !== undefined) return { kind: "peekResponse", uuid, response: error };
    // One part's answer as it is (a frame: passed through undecoded).
    const only = withRows >= 0 ? withRows : withRows === -1 ? framed : -1;
    const single = only >= 0 ? (byPart[only] as PartAnswer) : undefined;
    if (single?.kind === "peekRowsFrame") {
      return this.#frameTooLarge(single)
        ? this.#sizeError(uuid)
        : (new FramedPeekResponse(single) as ComputeResponse);
    }
    const rows =
      withRows === -2
        ? byPart.flatMap((r) =>
            r?.kind === "peekRowsFrame" ? peekRowsOfFrame(r) : r?.kind === "rows" ? r.rows : [],
          )
        : single?.kind === "rows"
          ? single.rows
          : [];
    if (this.#tooLarge(rows)) return this.#sizeError(uuid);
    return { kind: "peekResponse", uuid, response: { kind: "rows", rows } };
  }

  /** The answer of a peek whose rows exceed `maxResultSize`. */
  #sizeError(uuid: string): ComputeResponse {
    return {
      kind: "peekResponse",
      uuid,
      response: { kind: "error", message: maxResultSizeError(this.#maxResultSize) },
    };
  }

  /** True when a frame's packed rows exceed `maxResultSize` (`exceeds`, without packing). */
  #frameTooLarge(frame: PeekRowsFrame): boolean {
    const max = this.#maxResultSize;
    return max < BEYOND_ANY_BUFFER && BigInt(frame.rowsBytes) > max;
  }

  /** True when `rows` packed exceed `maxResultSize`. */
  #tooLarge(rows: readonly (readonly [Row, ...unknown[]])[]): boolean {
    return exceeds(rows, this.#maxResultSize);
  }

  #absorbSubscribe(
    part: number,
    r: Extract<ComputeResponse, { kind: "subscribeResponse" }>,
  ): ComputeResponse[] {
    const id = r.id;
    let s = this.#subscribes.get(id);
    if (s === undefined) {
      s = {
        uppers: new PartitionedFrontier(`subscribe ${id} upper`, this.#parts),
        released: undefined,
        firstLower: undefined,
        stash: [],
        error: undefined,
        finished: new Set(),
        dropping: false,
      };
      this.#subscribes.set(id, s);
    }
    const resp = r.response;
    if (resp.kind === "droppedAt") {
      s.dropping = true;
      s.finished.add(part);
      return this.#maybeFinishDrop(id, s);
    }
    if (s.released === undefined) {
      s.firstLower =
        s.firstLower === undefined ? resp.lower : Frontier.meet(s.firstLower, resp.lower);
    }
    if (resp.result.kind === "error") s.error ??= resp.result.message;
    else if (resp.result.updates.length > 0) s.stash.push(resp.result.updates);
    if (resp.upper === null) s.finished.add(part);
    const advanced = s.uppers.set(part, resp.upper);
    if (s.dropping) return this.#maybeFinishDrop(id, s);
    if (advanced === undefined) return [];
    const lower = s.released ?? s.firstLower ?? Frontier.MIN;
    // The parts' batches are consolidated runs: merged, not re-consolidated (W=1: passed on).
    const { out: updates, keep } = releaseRuns(s.stash, advanced);
    s.stash = keep;
    s.released = advanced;
    if (advanced === null) this.#subscribes.delete(id);
    let error = s.error;
    if (error === undefined && exceeds(updates, this.#maxResultSize)) {
      error = s.error = maxResultSizeError(this.#maxResultSize);
    }
    return [
      {
        kind: "subscribeResponse",
        id,
        response: {
          kind: "batch",
          lower,
          upper: advanced,
          result:
            error === undefined ? { kind: "updates", updates } : { kind: "error", message: error },
        },
      },
    ];
  }

  #maybeFinishDrop(id: GlobalId, s: SubscribeState): ComputeResponse[] {
    if (s.finished.size < this.#parts) return [];
    this.#subscribes.delete(id);
    const frontier = s.released ?? s.firstLower ?? Frontier.MIN;
    return [{ kind: "subscribeResponse", id, response: { kind: "droppedAt", frontier } }];
  }
}
