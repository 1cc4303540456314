/**
 * `createPhaseFlags`: the phase flags of an environment, per cluster, from LaunchDarkly's server
 * SDK — the one place that calls the SDK (style §16: composition roots call this package, and
 * nothing below them reads flags).
 *
 * ## Sources (exactly one)
 * - `flagsFile` (no SDK key): the SDK's own file data source, watching the file (`autoUpdate`).
 *   The file is validated at `ready()` (a missing or malformed file fails start) and again on
 *   every load; an edit that does not validate is dropped whole, so the last good data stays in
 *   the SDK's store (the problem is recorded once it has lasted `SETTLE_MS`, `source-gates.ts`). Events and diagnostics are off, and `offline` is never set (it would ignore
 *   the data source).
 * - `sdkKey`: a plain LaunchDarkly client. Only evaluation-time checks apply (below).
 * - `dataSource` (tests): an SDK data source factory such as `TestData#getFactory()`; a
 *   delivery of a phase flag with a variation that is neither a boolean nor a migration stage
 *   (`stages.ts`) is dropped (the flag keeps its last good definition), other flags in it apply.
 *
 * ## Evaluation
 * Each tracked cluster is evaluated with the multi-kind context of `context.ts` (five
 * `variationDetail` calls). An absent flag is off; a served variation that is neither a boolean
 * nor a migration stage, or an evaluation error, keeps the cluster's last good value of that flag
 * (off if it never had one) and records an error. Raw values go through `resolvePhases`.
 *
 * ## Flow of a change
 * 1. The data source delivers data; the gate (`data-source.ts` wraps the source, `source-gates.ts`
 *    decides) accepts, rewrites or drops it.
 * 2. Accepted data is stored by the SDK, then `changed()` schedules one refresh.
 * 3. The refresh re-evaluates every tracked cluster, serialised with all other evaluations (so
 *    results are applied in order and a later evaluation never loses to an earlier one).
 * 4. A cluster whose PhaseSet differs from its previous one gets it published: metrics, logs
 *    (info summary; warn per newly blocked or no-effect phase), then its subscribers.
 *
 * Rejected data and failed evaluations are recorded in `errors()`/`lastError`/`currentError`,
 * logged at error level and counted in `mz_cluster_unification_flags_errors_total`.
 */
import { resolve as resolvePath } from "node:path";
import {
  integrations,
  type LDClient,
  type LDEvaluationDetail,
  type LDLogger,
  type LDMigrationOpEvent,
  LDMigrationStage,
  type LDOptions,
  init as ldInit,
} from "@launchdarkly/node-server-sdk";
import { type Logger, pino } from "pino";
import { register as defaultRegistry, type Registry } from "prom-client";
import { assertClusterId, assertEnvironmentId, clusterContext } from "./context.js";
import {
  type DataSourceFactory,
  gateDataSource,
  guardWatchErrors,
  type UpdateProcessorOption,
} from "./data-source.js";
import {
  FlagEvaluationFailed,
  FlagsError,
  FlagsLifecycleError,
  FlagsUnavailable,
  InvalidFlagsConfig,
  WrongFlagType,
} from "./errors.js";
import { type FlagsFileContents, readFlagsFile } from "./flags-file.js";
import { BUILT_PHASES, FLAG_KEYS, isPhase, PHASES, type Phase } from "./keys.js";
import { PhaseMetrics } from "./metrics.js";
import { PhaseSet } from "./phase-set.js";
import { FileGate, type GateHost, ItemGate } from "./source-gates.js";
import { isPhaseFlagValue, type PhaseFlagValue } from "./stages.js";

/** Options of `createPhaseFlags`. Pass exactly one of `sdkKey`, `flagsFile`, `dataSource`. */
export interface PhaseFlagsOptions {
  /** The environment's id: the key of the `environment` context. */
  environmentId: string;
  /** A LaunchDarkly server-side SDK key. An empty string counts as absent. */
  sdkKey?: string | undefined;
  /** A local flags file (see README "Flags file forms"), watched for edits. Empty = absent. */
  flagsFile?: string | undefined;
  /** For tests: an SDK data source factory, e.g. `new integrations.TestData().getFactory()`. */
  dataSource?: UpdateProcessorOption | undefined;
  /** Phases whose unified code is built (default `BUILT_PHASES`: servers). */
  builtPhases?: readonly Phase[] | undefined;
  /** Where logs go (default: a new pino logger on stdout). */
  logger?: Logger | undefined;
  /** Where metrics are registered (default: prom-client's global registry). */
  registry?: Registry | undefined;
  /** How long `ready()` waits for the first data (default 10 000 ms; 5 000 for a file). */
  initTimeoutMs?: number | undefined;
}

/** Called when a tracked cluster's PhaseSet changes. */
export type PhaseSetListener = (next: PhaseSet, previous: PhaseSet) => void;

/** The phase flags of one environment. */
export interface PhaseFlags {
  /** Where flags come from: `file <path>`, `LaunchDarkly` or `data source`. */
  readonly source: string;
  /** The phases whose code is built. */
  readonly builtPhases: readonly Phase[];
  /**
   * Starts the SDK and waits for the first data. Idempotent. On failure the client is closed.
   *
   * @throws MissingFlagsFile / MalformedFlagsFile / WrongFlagType for a bad flags file.
   * @throws FlagsUnavailable when no data arrives within `initTimeoutMs`.
   * @throws FlagsLifecycleError after `close()`.
   */
  ready(): Promise<void>;
  /**
   * The PhaseSet of a cluster, which from now on is tracked (kept current, published in
   * metrics). For a tracked cluster this is the cached snapshot subscribers last saw.
   *
   * @throws InvalidClusterId for an empty id.
   * @throws FlagsLifecycleError before `ready()` was called, after it failed, or after `close()`.
   */
  phases(clusterId: string): Promise<PhaseSet>;
  /** The cached PhaseSet of a tracked, evaluated cluster, or `undefined`. */
  current(clusterId: string): PhaseSet | undefined;
  /**
   * Tracks a cluster and calls `listener` each time its PhaseSet changes (not for its first
   * evaluation). Returns the unsubscribe function.
   *
   * @throws InvalidClusterId for an empty id.
   */
  subscribe(clusterId: string, listener: PhaseSetListener): () => void;
  /** Stops tracking a cluster: drops its cache, subscribers and metric series. */
  forget(clusterId: string): void;
  /** The most recent error (rejected data or failed evaluation), if any. */
  readonly lastError: FlagsError | undefined;
  /** Set while the source's latest delivery is rejected; cleared by the next accepted one. */
  readonly currentError: FlagsError | undefined;
  /** The last (up to 50) errors, oldest first. */
  errors(): readonly FlagsError[];
  /**
   * Reports one comparison of a migrating phase's two paths to LaunchDarkly's migration tracking
   * (a `read` operation: each path invoked, with its latency; consistency when both answered):
   * `migrationVariation` for the cluster, then `trackMigration` of the tracker's event. With
   * events off (the flags file and test sources) the event goes nowhere; it is returned for
   * callers and tests. Never throws: a failure is logged at debug and gives undefined.
   */
  trackComparison(
    clusterId: string,
    phase: Phase,
    observed: ComparisonObservation,
  ): Promise<LDMigrationOpEvent | undefined>;
  /** Closes the SDK client and drops all metric series. Idempotent. */
  close(): Promise<void>;
}

/** What a caller observed of one comparison (`trackComparison`). */
export interface ComparisonObservation {
  /** Milliseconds to each path's first answer; a path without one did not answer. */
  readonly latencyMs: { readonly legacy?: number; readonly unified?: number };
  /** Whether the two answers agreed; absent when only one path answered. */
  readonly consistent?: boolean;
  /** Paths whose answer was an error. */
  readonly errors?: readonly ("legacy" | "unified")[];
}

const MAX_ERRORS = 50;

/**
 * Creates the phase flags of an environment. Nothing starts until `ready()`.
 *
 * @throws InvalidFlagsConfig when no source or more than one is given, `environmentId` is empty
 *   or `builtPhases` names an unknown phase.
 */
export function createPhaseFlags(options: PhaseFlagsOptions): PhaseFlags {
  return new PhaseFlagsImpl(options);
}

type SourceSpec =
  | { kind: "file"; path: string }
  | { kind: "launchdarkly"; sdkKey: string }
  | { kind: "data source"; factory: DataSourceFactory };

interface Tracked {
  /** Last published PhaseSet; undefined until the first evaluation. */
  phaseSet: PhaseSet | undefined;
  readonly listeners: Set<PhaseSetListener>;
}

type State = "created" | "starting" | "ready" | "failed" | "closed";

class PhaseFlagsImpl implements PhaseFlags {
  readonly source: string;
  readonly builtPhases: readonly Phase[];
  readonly #spec: SourceSpec;
  readonly #environmentId: string;
  readonly #log: Logger;
  /** The caller's logger (the SDK's own logs go to a child of it). */
  readonly #baseLog: Logger;
  readonly #metrics: PhaseMetrics;
  readonly #initTimeoutMs: number;
  /** created → starting (ready() called) → ready | failed; any → closed. */
  #state: State = "created";
  /** The SDK client; set by ready(), unset by close(). */
  #client: LDClient | undefined;
  /** The promise of the first ready() call. */
  #readyPromise: Promise<void> | undefined;
  /** Rejects ready() with data rejected before the client initialised. */
  #failStart: ((error: FlagsError) => void) | undefined;
  /** Tracked clusters; entries live from phases()/subscribe() until forget()/close(). */
  readonly #clusters = new Map<string, Tracked>();
  /** Tail of the serial evaluation queue. */
  #queue: Promise<unknown> = Promise.resolve();
  /** A refresh of all clusters is queued and has not started yet. */
  #refreshQueued = false;
  /** Recorded errors, bounded to MAX_ERRORS. */
  readonly #errors: FlagsError[] = [];
  #lastError: FlagsError | undefined;
  #currentError: FlagsError | undefined;
  /** Evaluation error messages already reported since the last accepted delivery. */
  readonly #reportedEvalErrors = new Set<string>();
  /** Unknown flag keys of the flags file already logged (logged once per process). */
  readonly #loggedUnknown = new Set<string>();
  /** File source: the gate (its pending re-check is cancelled at close). */
  #fileGate: FileGate | undefined;

  constructor(options: PhaseFlagsOptions) {
    assertEnvironmentId(options.environmentId);
    this.#environmentId = options.environmentId;
    // Empty strings count as absent (an unset environment variable).
    const sdkKey = options.sdkKey === "" ? undefined : options.sdkKey;
    const flagsFile = options.flagsFile === "" ? undefined : options.flagsFile;
    const given = [
      sdkKey !== undefined && "sdkKey",
      flagsFile !== undefined && "flagsFile",
      options.dataSource !== undefined && "dataSource",
    ].filter((x): x is string => x !== false);
    if (given.length !== 1) {
      throw new InvalidFlagsConfig(
        given.length === 0 ? "sdkKey/flagsFile" : given.join("+"),
        given.length === 0
          ? "no flag source: pass sdkKey to read LaunchDarkly, or flagsFile for a local file " +
              "(see packages/flags/examples/)"
          : `pass exactly one flag source, not ${given.join(" and ")}`,
      );
    }
    if (options.dataSource !== undefined) {
      if (typeof options.dataSource !== "function") {
        throw new InvalidFlagsConfig(
          "dataSource",
          "pass a data source factory such as testData.getFactory(), not an instance",
        );
      }
      this.#spec = { kind: "data source", factory: options.dataSource as DataSourceFactory };
      this.source = "data source";
    } else if (sdkKey !== undefined) {
      this.#spec = { kind: "launchdarkly", sdkKey };
      this.source = "LaunchDarkly";
    } else {
      const path = resolvePath(flagsFile ?? "");
      this.#spec = { kind: "file", path };
      this.source = `file ${path}`;
    }
    const built = options.builtPhases ?? BUILT_PHASES;
    for (const phase of built) {
      if (!isPhase(phase)) {
        throw new InvalidFlagsConfig(
          "builtPhases",
          `unknown phase ${JSON.stringify(phase)}; phases are ${PHASES.join(", ")}`,
        );
      }
    }
    this.builtPhases = Object.freeze(PHASES.filter((p) => built.includes(p)));
    this.#baseLog = options.logger ?? pino();
    this.#log = this.#baseLog.child({ component: "flags" });
    this.#metrics = new PhaseMetrics(options.registry ?? defaultRegistry);
    this.#initTimeoutMs = options.initTimeoutMs ?? (this.#spec.kind === "file" ? 5_000 : 10_000);
  }

  get lastError(): FlagsError | undefined {
    return this.#lastError;
  }

  get currentError(): FlagsError | undefined {
    return this.#currentError;
  }

  errors(): readonly FlagsError[] {
    return [...this.#errors];
  }

  ready(): Promise<void> {
    if (this.#state === "closed") return Promise.reject(new FlagsLifecycleError("ready", "closed"));
    this.#readyPromise ??= this.#start();
    return this.#readyPromise;
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    try {
      if (this.#spec.kind === "file") {
        // Fail hard at start: a running process keeps last good values, a starting one has none.
        this.#noteUnknownKeys(await readFlagsFile(this.#spec.path));
      }
      const startFailure = new Promise<never>((_, reject) => {
        this.#failStart = reject;
      });
      startFailure.catch(() => {});
      const client = this.#createClient();
      this.#client = client;
      try {
        await Promise.race([
          client.waitForInitialization({ timeout: this.#initTimeoutMs / 1000 }),
          startFailure,
        ]);
      } catch (e) {
        if (e instanceof FlagsError) throw e;
        throw (
          this.#lastError ??
          new FlagsUnavailable(this.source, e instanceof Error ? e.message : String(e))
        );
      }
      if (this.#stateNow() !== "starting") throw new FlagsLifecycleError("ready", "closed");
      this.#state = "ready";
      this.#failStart = undefined;
      this.#log.info(
        { source: this.source, builtPhases: this.builtPhases },
        `phase flags ready (source: ${this.source})`,
      );
      this.#scheduleRefresh();
      await this.#queue;
    } catch (e) {
      if (this.#stateNow() !== "closed") this.#state = "failed";
      this.#failStart = undefined;
      this.#client?.close();
      this.#client = undefined;
      if (e instanceof FlagsError)
        this.#log.error({ err: e }, `phase flags failed to start: ${e.message}`);
      throw e;
    }
  }

  #createClient(): LDClient {
    const logger = ldLogger(this.#baseLog.child({ component: "launchdarkly" }));
    const spec = this.#spec;
    if (spec.kind === "launchdarkly") {
      const client = ldInit(spec.sdkKey, { logger });
      client.on("error", () => {});
      return client;
    }
    const factory =
      spec.kind === "file"
        ? (new integrations.FileDataSourceFactory({
            paths: [spec.path],
            autoUpdate: true,
            logger,
          }).getFactory() as unknown as DataSourceFactory)
        : spec.factory;
    const host = this.#gateHost();
    const gate = spec.kind === "file" ? new FileGate(spec.path, host) : new ItemGate(host);
    if (gate instanceof FileGate) this.#fileGate = gate;
    const options: LDOptions = {
      updateProcessor: guardWatchErrors(gateDataSource(factory, gate), (e) => gate.error(e)),
      sendEvents: false,
      diagnosticOptOut: true,
      logger,
    };
    // The key is never sent anywhere: events and diagnostics are off and the data source is local.
    const client = ldInit(spec.kind === "file" ? "local-flags-file" : "test-data-source", options);
    // The gate records every data source error; without a listener an "error" event would throw.
    client.on("error", () => {});
    return client;
  }

  /** What the source gates (`source-gates.ts`) report to. */
  #gateHost(): GateHost {
    return {
      source: this.source,
      log: this.#log,
      isReady: () => this.#state === "ready",
      isClosed: () => this.#state === "closed",
      accepted: () => this.#accepted(),
      reject: (error) => this.#reject(error),
      changed: () => this.#scheduleRefresh(),
      noteUnknownKeys: (contents) => this.#noteUnknownKeys(contents),
    };
  }

  async phases(clusterId: string): Promise<PhaseSet> {
    assertClusterId(clusterId);
    await this.#whenReady("phases");
    const tracked = this.#track(clusterId);
    if (tracked.phaseSet !== undefined) return tracked.phaseSet;
    const evaluated = await this.#enqueue(() => this.#refresh(clusterId));
    return tracked.phaseSet ?? evaluated ?? this.#closedError("phases");
  }

  current(clusterId: string): PhaseSet | undefined {
    return this.#clusters.get(clusterId)?.phaseSet;
  }

  subscribe(clusterId: string, listener: PhaseSetListener): () => void {
    assertClusterId(clusterId);
    if (this.#state === "closed") throw new FlagsLifecycleError("subscribe", "closed");
    const tracked = this.#track(clusterId);
    tracked.listeners.add(listener);
    if (tracked.phaseSet === undefined && this.#state === "ready") {
      // Establish the baseline, so the first call is for an actual change.
      void this.#enqueue(() => this.#refresh(clusterId));
    }
    return () => {
      tracked.listeners.delete(listener);
    };
  }

  forget(clusterId: string): void {
    const tracked = this.#clusters.get(clusterId);
    if (tracked === undefined) return;
    this.#clusters.delete(clusterId);
    tracked.listeners.clear();
    this.#metrics.remove(clusterId);
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const starting = this.#state === "starting";
    this.#state = "closed";
    this.#failStart?.(new FlagsLifecycleError("ready", "closed"));
    this.#fileGate?.close();
    // New tasks are skipped from now on; let a running evaluation finish on an open client.
    await this.#queue;
    if (starting) {
      await this.#readyPromise?.catch(() => {}); // #start closes the client on its way out
    } else {
      this.#client?.close();
      this.#client = undefined;
    }
    for (const clusterId of [...this.#clusters.keys()]) this.forget(clusterId);
  }

  async #whenReady(method: string): Promise<void> {
    if (this.#state === "ready") return;
    if (this.#state === "created") throw new FlagsLifecycleError(method, "not started");
    if (this.#state === "closed") throw new FlagsLifecycleError(method, "closed");
    try {
      await this.#readyPromise;
    } catch {
      throw new FlagsLifecycleError(method, "failed");
    }
    if (this.#stateNow() !== "ready") throw new FlagsLifecycleError(method, "closed");
  }

  /** The state, read afresh (TypeScript narrows `#state` across awaits). */
  #stateNow(): State {
    return this.#state;
  }

  #closedError(method: string): never {
    throw new FlagsLifecycleError(method, "closed");
  }

  #track(clusterId: string): Tracked {
    let tracked = this.#clusters.get(clusterId);
    if (tracked === undefined) {
      tracked = { phaseSet: undefined, listeners: new Set() };
      this.#clusters.set(clusterId, tracked);
    }
    return tracked;
  }

  /** Runs `task` after every queued evaluation; skipped (undefined) once closed. */
  #enqueue<T>(task: () => Promise<T>): Promise<T | undefined> {
    const run = this.#queue.then(() => (this.#state === "ready" ? task() : undefined));
    this.#queue = run.catch((e: unknown) => {
      this.#log.error({ err: e }, "phase flag evaluation failed unexpectedly");
    });
    return run;
  }

  #scheduleRefresh(): void {
    if (this.#state !== "ready" || this.#refreshQueued) return;
    this.#refreshQueued = true;
    void this.#enqueue(async () => {
      this.#refreshQueued = false;
      for (const clusterId of [...this.#clusters.keys()]) await this.#refresh(clusterId);
    });
  }

  /** Evaluates one cluster and publishes the result if it changed. */
  async #refresh(clusterId: string): Promise<PhaseSet | undefined> {
    const client = this.#client;
    if (client === undefined) return undefined;
    const previous = this.#clusters.get(clusterId)?.phaseSet;
    const context = clusterContext(this.#environmentId, clusterId);
    const flags = {} as Record<Phase, PhaseFlagValue>;
    for (const phase of PHASES) {
      const detail = await client.variationDetail(FLAG_KEYS[phase], context, null);
      flags[phase] = this.#valueOf(phase, clusterId, detail, previous);
    }
    const next = PhaseSet.of(clusterId, flags, this.builtPhases);
    this.#publish(clusterId, next);
    return next;
  }

  /** A flag's value from its evaluation; the cluster's last good value when it is unusable. */
  #valueOf(
    phase: Phase,
    clusterId: string,
    detail: LDEvaluationDetail,
    previous: PhaseSet | undefined,
  ): PhaseFlagValue {
    const key = FLAG_KEYS[phase];
    const lastGood: PhaseFlagValue = previous?.stages[phase] ?? false;
    if (detail.reason.kind === "ERROR") {
      if (detail.reason.errorKind === "FLAG_NOT_FOUND") return false;
      this.#evaluationError(
        new FlagEvaluationFailed(key, clusterId, detail.reason.errorKind ?? "?"),
      );
      return lastGood;
    }
    // Off with no off variation: the SDK serves no variation; the flag is off.
    if (detail.variationIndex === null || detail.variationIndex === undefined) return false;
    if (!isPhaseFlagValue(detail.value)) {
      this.#evaluationError(new WrongFlagType(key, detail.value, this.source));
      return lastGood;
    }
    return detail.value;
  }

  async trackComparison(
    clusterId: string,
    phase: Phase,
    observed: ComparisonObservation,
  ): Promise<LDMigrationOpEvent | undefined> {
    const client = this.#client;
    if (client === undefined || this.#state !== "ready") return undefined;
    try {
      const context = clusterContext(this.#environmentId, clusterId);
      const { tracker } = await client.migrationVariation(
        FLAG_KEYS[phase],
        context,
        LDMigrationStage.Off,
      );
      tracker.op("read");
      const origin = { legacy: "old", unified: "new" } as const;
      for (const path of ["legacy", "unified"] as const) {
        const ms = observed.latencyMs[path];
        if (ms === undefined) continue;
        tracker.invoked(origin[path]);
        tracker.latency(origin[path], ms);
      }
      for (const path of observed.errors ?? []) tracker.error(origin[path]);
      const consistent = observed.consistent;
      if (consistent !== undefined) tracker.consistency(() => consistent);
      const event = tracker.createEvent();
      if (event !== undefined) client.trackMigration(event);
      return event;
    } catch (e) {
      this.#log.debug({ err: e, cluster: clusterId, phase }, "migration tracking failed");
      return undefined;
    }
  }

  #publish(clusterId: string, next: PhaseSet): void {
    const tracked = this.#clusters.get(clusterId);
    if (tracked === undefined) return; // forgotten while being evaluated
    const previous = tracked.phaseSet;
    if (previous?.equals(next)) return;
    tracked.phaseSet = next;
    this.#metrics.set(next);
    this.#log.info(
      {
        cluster: clusterId,
        inForce: next.phases,
        blocked: next.blocked,
        noEffect: next.noEffect,
        previous: previous?.phases,
      },
      `${previous === undefined ? "phases" : "phases changed"} for cluster ${next.toString()}`,
    );
    for (const phase of PHASES) {
      const missing = next.blocked[phase];
      const before = previous?.blocked[phase];
      if (missing !== undefined && before?.join() !== missing.join()) {
        this.#log.warn(
          { cluster: clusterId, phase, flag: FLAG_KEYS[phase], missing },
          `phase ${phase} is on for cluster ${clusterId} but blocked: missing prerequisites ` +
            `${missing.join(", ")}; it stays off until they are in force — turn them on too`,
        );
      }
      if (next.noEffect.includes(phase) && !previous?.noEffect.includes(phase)) {
        this.#log.warn(
          { cluster: clusterId, phase, flag: FLAG_KEYS[phase], builtPhases: this.builtPhases },
          `phase ${phase} is in force for cluster ${clusterId} but not built yet: its flag has no effect`,
        );
      }
    }
    if (previous === undefined) return;
    for (const listener of [...tracked.listeners]) {
      try {
        listener(next, previous);
      } catch (e) {
        this.#log.error({ err: e, cluster: clusterId }, "a PhaseSet subscriber threw");
      }
    }
  }

  /** Logs each flag key of the file that is not a phase flag, once per process. */
  #noteUnknownKeys(contents: FlagsFileContents): void {
    for (const key of contents.unknownKeys) {
      if (this.#loggedUnknown.has(key)) continue;
      this.#loggedUnknown.add(key);
      this.#log.warn(
        { file: contents.file, flag: key },
        `flag ${key} in ${contents.file} is not a cluster-unification flag; it is ignored`,
      );
    }
  }

  #accepted(): void {
    this.#currentError = undefined;
    this.#reportedEvalErrors.clear();
  }

  /** Records rejected data. */
  #reject(error: FlagsError): void {
    const repeat = this.#currentError?.message === error.message;
    this.#currentError = error;
    this.#record(error, !repeat);
    // A file that goes bad while starting fails start, as a bad file before start does.
    if (this.#spec.kind === "file") this.#failStart?.(error);
  }

  #evaluationError(error: FlagsError): void {
    if (this.#reportedEvalErrors.has(error.message)) return;
    this.#reportedEvalErrors.add(error.message);
    this.#record(error, true);
  }

  #record(error: FlagsError, log: boolean): void {
    this.#lastError = error;
    this.#errors.push(error);
    if (this.#errors.length > MAX_ERRORS) this.#errors.shift();
    this.#metrics.error(error.name);
    if (log) this.#log.error({ err: error, source: this.source }, error.message);
  }
}

/** The SDK's logger on pino (SDK info is chatty: it goes to debug). */
function ldLogger(log: Logger): LDLogger {
  const text = (args: unknown[]) =>
    args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
  return {
    error: (...args: unknown[]) => log.error(text(args)),
    warn: (...args: unknown[]) => log.warn(text(args)),
    info: (...args: unknown[]) => log.debug(text(args)),
    debug: (...args: unknown[]) => log.debug(text(args)),
  };
}
