/**
 * The logging benches' dataflows: N index dataflows (`u10`, `u11`, …) of four operators each,
 * importing `u1`, announced to a logging host as `dataflowCreated` events. Returns the export ids.
 * Takes any tree's logger (the A/B bench loads two builds), so only what it calls is typed.
 */
export function createIdleDataflows(log: { log(e: unknown): void }, n: number): string[] {
  const ids = Array.from({ length: n }, (_, d) => `u${d + 10}`);
  const operators = [0, 1, 2, 3].map((id) => ({ id, name: `op${id}` }));
  for (let d = 0; d < n; d++) {
    log.log({
      kind: "dataflowCreated",
      dataflowId: d,
      name: `i${d}`,
      exports: [{ id: ids[d]!, kind: "index" }],
      operators,
      imports: ["u1"],
    });
  }
  return ids;
}
