/**
 * What the README's examples import, gathered in one place for `readme.test.ts`.
 */
export { Frontier } from "@mzts/repr";
export { createFileBlob, createPersist, createPostgresConsensus, UpperMismatch } from "../index.js";
