/**
 * The row encoding version of `RowBatch` / `UpdateBatch` (format 1: rows packed back to back by
 * `@mzts/repr` `RowPacker`). Codec-free, so the worker-side frame writer (`peek-answer-frames.ts`)
 * shares it with the codecs.
 */
export const ROW_FORMAT_VERSION = 1;
