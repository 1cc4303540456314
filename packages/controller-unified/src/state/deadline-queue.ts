/**
 * Deadlines without a timer each (issue 16): the peeks of one instance or cluster each had a
 * `setTimeout` (a `Timeout` object, an async resource, a timer-list insert) and a `clearTimeout`
 * when answered — at thousands of peeks a second nearly all cleared long before they fire.
 *
 * A `DeadlineQueue` keeps its deadlines in one list per duration (deadlines of one duration come
 * in order, so each list is sorted by construction: add and cancel are O(1), like node's own timer
 * lists) and arms ONE timer, for the earliest deadline. A canceled deadline is unlinked at once; the
 * timer is not moved for it (it fires, finds nothing due, and re-arms for the next), unless it
 * was the last: then the timer is cleared (an idle queue holds no timer).
 *
 * ## Resolution
 * A deadline `ms` after `add` fires no earlier than `ms − RESOLUTION_MS` after it (node's timers
 * count whole milliseconds of the loop's clock, so a timer may run a fraction of one early by
 * `performance.now()`; everything due within `RESOLUTION_MS` is fired in that run rather than
 * re-arming for a fraction of a millisecond), and as late as a `setTimeout(ms)` would (a busy loop
 * delays it alike). Deadlines due in one run fire in deadline order.
 */

/** How early a deadline may fire (ms); see the file comment. */
export const DEADLINE_RESOLUTION_MS = 1;

/** A pending deadline; `cancel` it once it no longer matters. */
export interface Deadline {
  cancel(): void;
}

class Entry implements Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;
  constructor(
    readonly list: DurationList,
    readonly at: number,
    readonly fire: () => void,
  ) {}
  cancel(): void {
    if (this.list.unlink(this)) this.list.queue.removed();
  }
}

/** The deadlines of one duration, oldest (earliest) first. */
class DurationList {
  head: Entry | undefined;
  tail: Entry | undefined;
  size = 0;
  constructor(
    readonly queue: DeadlineQueue,
    readonly ms: number,
  ) {}
  push(e: Entry): void {
    e.prev = this.tail;
    if (this.tail === undefined) this.head = e;
    else this.tail.next = e;
    this.tail = e;
    this.size++;
  }
  /** Whether `e` was in the list (false: fired or canceled already). */
  unlink(e: Entry): boolean {
    if (e.prev === undefined && this.head !== e) return false;
    if (e.prev === undefined) this.head = e.next;
    else e.prev.next = e.next;
    if (e.next === undefined) this.tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = undefined;
    e.next = undefined;
    this.size--;
    if (this.size === 0) this.queue.emptied(this);
    return true;
  }
}

export interface DeadlineQueueOptions {
  /** Whether the armed timer keeps the process alive (`Timeout.unref` otherwise); default true. */
  readonly ref?: boolean;
}

/** One timer for many deadlines (see the file comment). */
export class DeadlineQueue {
  readonly #lists = new Map<number, DurationList>();
  readonly #ref: boolean;
  #timer: NodeJS.Timeout | undefined;
  /** `performance.now()` the armed timer is for. */
  #armedAt = Number.POSITIVE_INFINITY;
  #size = 0;

  constructor(opts: DeadlineQueueOptions = {}) {
    this.#ref = opts.ref ?? true;
  }

  /** Deadlines pending. */
  get size(): number {
    return this.#size;
  }

  /** Runs `fire` `ms` from now unless canceled first. */
  add(ms: number, fire: () => void): Deadline {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DurationList(this, ms);
      this.#lists.set(ms, list);
    }
    const at = performance.now() + ms;
    const e = new Entry(list, at, fire);
    list.push(e);
    this.#size++;
    if (at < this.#armedAt) this.#arm(at);
    return e;
  }

  /** Cancels every pending deadline and the timer. */
  clear(): void {
    this.#lists.clear();
    this.#size = 0;
    this.#disarm();
  }

  /** @internal a deadline was canceled: with none left, the timer goes too. */
  removed(): void {
    if (--this.#size === 0) this.#disarm();
  }

  /** @internal a list lost its last deadline. */
  emptied(list: DurationList): void {
    if (this.#lists.get(list.ms) === list) this.#lists.delete(list.ms);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(() => this.#run(), Math.max(0, Math.ceil(at - performance.now())));
    if (!this.#ref) this.#timer.unref();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const due = performance.now() + DEADLINE_RESOLUTION_MS;
    const fired: Entry[] = [];
    for (const list of [...this.#lists.values()]) {
      while (list.head !== undefined && list.head.at <= due) {
        const e = list.head;
        list.unlink(e);
        this.#size--;
        fired.push(e);
      }
    }
    // In deadline order across the lists (a late run finds several lists due).
    if (fired.length > 1) fired.sort((a, b) => a.at - b.at);
    // Re-arm before firing: a `fire` may add or cancel deadlines.
    this.#rearm();
    for (const e of fired) e.fire();
  }

  #rearm(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const list of this.#lists.values()) {
      if (list.head !== undefined && list.head.at < next) next = list.head.at;
    }
    if (next === Number.POSITIVE_INFINITY) this.#disarm();
    else if (next < this.#armedAt) this.#arm(next);
  }
}
