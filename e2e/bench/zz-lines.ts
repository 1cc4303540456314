import { readFileSync } from "node:fs";

const [file, pat] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file!, "utf8"));
const ticks = new Map<string, number>();
for (const n of p.nodes) {
  const cf = n.callFrame;
  if (!`${cf.functionName} ${cf.url}`.includes(pat!)) continue;
  for (const t of n.positionTicks ?? []) {
    const k = `${cf.url.split("/").slice(-2).join("/")}:${t.line} ${cf.functionName}`;
    ticks.set(k, (ticks.get(k) ?? 0) + t.ticks);
  }
}
for (const [k, v] of [...ticks].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v, k);
