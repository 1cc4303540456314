/**
 * The conformance cases against mz-cluster's unified host (`UnifiedLoggingHost`), beside the
 * legacy host's run (`legacy/logging/legacy-logging.test.ts`): both must give the same rows.
 */
import { UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import { describe, it } from "vitest";
import { loggingHostConformance } from "./conformance.js";

for (const typed of [false, true]) {
  describe(`UnifiedLoggingHost conforms to the LoggingHost semantics${typed ? " (typed calls)" : ""}`, () => {
    for (const c of loggingHostConformance(
      ({ worker, now }) => new UnifiedLoggingHost({ worker, clock: now }),
      { typed },
    )) {
      it(c.name, () => c.run());
    }
  });
}
