/**
 * The gates `createPhaseFlags` puts between a data source and the SDK's store (`data-source.ts`
 * wraps the source; these decide): `FileGate` for the flags file source and `ItemGate` for the
 * other data sources (tests' `TestData`).
 *
 * - `FileGate`: a load is stored only if the file on disk validates and matches it. A problem
 *   is recorded only if it is still there `SETTLE_MS` later, so a write in progress (the SDK or
 *   we read a half-written file) does not report an error the writer never made; a file that is
 *   valid again but that the SDK has not loaded since it failed on it is reported as the SDK's
 *   rejection only after `SDK_GAP_MS` (its watcher can lag under load).
 * - `ItemGate`: a phase flag with a variation that is neither a boolean nor a stage keeps its last good definition (or is
 *   dropped when it never had one); other flags in the delivery apply.
 *
 * Both report to the provider through `GateHost` (accepted data clears the current error,
 * rejected data is recorded, a stored delivery schedules a refresh).
 */
import type { Logger } from "pino";
import type { AllData, DataGate, DataItem, DataKind } from "./data-source.js";
import {
  FlagsError,
  FlagsUnavailable,
  MalformedFlagsFile,
  MissingFlagsFile,
  WrongFlagType,
} from "./errors.js";
import { type FlagsFileContents, readFlagsFileSync } from "./flags-file.js";
import { FLAG_KEYS, PHASES, phaseOfFlagKey } from "./keys.js";
import { isPhaseFlagValue } from "./stages.js";

/** How long a flags file problem must persist before it is recorded (see `FileGate`). */
export const SETTLE_MS = 50;
/**
 * How long a valid flags file may go unloaded by the SDK after the SDK failed on it before that
 * failure is reported as the SDK rejecting what we accept (its watcher can lag under load).
 */
export const SDK_GAP_MS = 2000;

/** What a gate reports to (the provider). */
export interface GateHost {
  /** The provider's source description (for errors). */
  readonly source: string;
  readonly log: Logger;
  /** The provider is ready (started). */
  isReady(): boolean;
  /** The provider is closed: no more recording. */
  isClosed(): boolean;
  /** A delivery was accepted whole. */
  accepted(): void;
  /** Data was rejected. */
  reject(error: FlagsError): void;
  /** An accepted delivery has been stored: re-evaluate. */
  changed(): void;
  /** A loaded flags file's unknown keys (logged once each). */
  noteUnknownKeys(contents: FlagsFileContents): void;
}

/** The gate of the flags file source (see the file's doc block). */
export class FileGate implements DataGate {
  readonly #path: string;
  readonly #host: GateHost;
  /** Pending re-check of a rejected load; cleared when it runs or at `close()`. */
  #settleTimer: NodeJS.Timeout | undefined;
  /** Loads accepted so far. */
  #loads = 0;

  constructor(path: string, host: GateHost) {
    this.#path = path;
    this.#host = host;
  }

  init(allData: AllData): AllData | undefined {
    let contents: FlagsFileContents;
    try {
      contents = readFlagsFileSync(this.#path);
    } catch {
      this.#settle();
      return undefined;
    }
    if (!matchesFile(contents, allData)) {
      // The file changed again since the SDK read it; its watcher delivers the newer content.
      this.#host.log.debug(
        { file: this.#path },
        "flags file changed during a load; waiting for the next",
      );
      return undefined;
    }
    this.#loads++;
    this.#host.noteUnknownKeys(contents);
    this.#host.accepted();
    return allData;
  }

  upsert(): boolean {
    return true;
  }

  changed(): void {
    this.#host.changed();
  }

  error(error: Error): void {
    if (this.#host.isReady() && (error as { code?: unknown }).code === "ENOENT") {
      this.#host.reject(new MissingFlagsFile(this.#path, error.message, true));
      return;
    }
    this.#settle(error);
  }

  /** Cancels a pending re-check. */
  close(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
  }

  /** Re-checks the file SETTLE_MS from now and records the problem if it is still there. */
  #settle(sdkError?: Error, loadsBefore = this.#loads, waitedMs = 0): void {
    if (this.#settleTimer !== undefined && waitedMs === 0) return;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      if (this.#host.isClosed()) return;
      try {
        readFlagsFileSync(this.#path);
      } catch (e) {
        this.#host.reject(asFlagsError(e));
        return;
      }
      if (sdkError === undefined || this.#loads !== loadsBefore) return;
      // The file is valid now but the SDK has loaded nothing since it failed. Either its
      // watcher has not delivered the finished file yet (a loaded machine: keep waiting, up to
      // SDK_GAP_MS), or the SDK rejects what we accept (a gap in our validation): report the
      // SDK's reason.
      if (waitedMs + SETTLE_MS < SDK_GAP_MS) {
        this.#settle(sdkError, loadsBefore, waitedMs + SETTLE_MS);
        return;
      }
      this.#host.reject(
        new MalformedFlagsFile(
          this.#path,
          `the LaunchDarkly SDK could not load it: ${sdkError.message}`,
        ),
      );
    }, SETTLE_MS);
    this.#settleTimer.unref();
  }
}

/** The gate of other data sources: a phase flag with a variation that is neither a boolean nor a stage keeps its last good definition. */
export class ItemGate implements DataGate {
  readonly #host: GateHost;
  /** The last accepted definition of each phase flag (for per-flag keep-last-good). */
  readonly #lastGoodFlags = new Map<string, DataItem>();

  constructor(host: GateHost) {
    this.#host = host;
  }

  init(allData: AllData): AllData {
    const features = { ...(allData.features ?? {}) };
    let rejected = false;
    for (const phase of PHASES) {
      const key = FLAG_KEYS[phase];
      const item = features[key];
      if (item === undefined) {
        this.#lastGoodFlags.delete(key);
        continue;
      }
      const error = this.#check({ ...item, key });
      if (error === undefined) {
        this.#lastGoodFlags.set(key, { ...item, key });
        continue;
      }
      rejected = true;
      this.#host.reject(error);
      const lastGood = this.#lastGoodFlags.get(key);
      if (lastGood === undefined) delete features[key];
      else features[key] = lastGood;
    }
    if (!rejected) this.#host.accepted();
    return { ...allData, features };
  }

  upsert(kind: DataKind, item: DataItem): boolean {
    if (kind.namespace !== "features") return true;
    const error = this.#check(item);
    if (error !== undefined) {
      this.#host.reject(error);
      return false;
    }
    if (phaseOfFlagKey(item.key) !== undefined) this.#lastGoodFlags.set(item.key, item);
    this.#host.accepted();
    return true;
  }

  changed(): void {
    this.#host.changed();
  }

  error(error: Error): void {
    this.#host.reject(
      new FlagsUnavailable(this.#host.source, `the data source failed: ${error.message}`),
    );
  }

  #check(item: DataItem): WrongFlagType | undefined {
    if (item.deleted === true || phaseOfFlagKey(item.key) === undefined) return undefined;
    const variations: unknown = item.variations;
    const bad = Array.isArray(variations)
      ? variations.find((v) => !isPhaseFlagValue(v))
      : variations;
    const ok = Array.isArray(variations) && bad === undefined;
    return ok ? undefined : new WrongFlagType(item.key, bad, this.#host.source);
  }
}

/** Whether the SDK's load `allData` is the content `contents` describes (same keys, variations). */
function matchesFile(contents: FlagsFileContents, allData: AllData): boolean {
  const features = allData.features ?? {};
  const keys = Object.keys(features);
  if (keys.length !== contents.keys.size || !keys.every((k) => contents.keys.has(k))) return false;
  for (const [key, variations] of contents.phaseFlags) {
    if (JSON.stringify(features[key]?.variations) !== JSON.stringify(variations)) return false;
  }
  return true;
}

function asFlagsError(e: unknown): FlagsError {
  if (e instanceof FlagsError) return e;
  return new FlagsError(e instanceof Error ? e.message : String(e));
}
