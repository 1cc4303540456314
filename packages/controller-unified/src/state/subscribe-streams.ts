/**
 * The unified driver's side of a subscribe's stream: the stream itself is the shared merge
 * (`subscribe-stream.ts`, opened in the state by `cluster-subscribes.ts`); the driver hands it out
 * wrapped so that its end — completed, failed, or broken off by the consumer (`return()`) — is
 * followed by the driver's flush: the drop the stream's end queued in the state goes to the
 * replicas at once, not at the next unrelated call.
 */

/** `stream` as an iterable whose end is followed by `flush` (see the file comment). */
export function flushingIterable<T>(stream: AsyncIterable<T>, flush: () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = stream[Symbol.asyncIterator]();
      const after = async <R>(p: Promise<R>): Promise<R> => {
        try {
          return await p;
        } finally {
          flush();
        }
      };
      return {
        next: async () => {
          try {
            const r = await it.next();
            if (r.done === true) flush();
            return r;
          } catch (e) {
            flush();
            throw e;
          }
        },
        return: (value?: unknown) =>
          after(it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined })),
        throw: (e?: unknown) => after(it.throw?.(e) ?? Promise.reject(e)),
      } as AsyncIterator<T>;
    },
  };
}
