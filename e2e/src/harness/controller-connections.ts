/**
 * How many TCP connections the controllers hold to one replica (design §9 phase 4: one on the
 * unified client, two or more per replica on the two-port layout), counted two independent ways:
 * - `sockets`: ESTABLISHED TCP connections in `/proc/net/tcp` whose remote port is one of the
 *   replica's controller ports (the controller's side of each connection; only environmentd
 *   connects to them);
 * - `metric`: the replica's own gauge `mz_cluster_controller_transport_connections`, summed over
 *   its controller ports (`server_name`).
 */
import { readFileSync } from "node:fs";
import { metricSum, type ReplicaRecordView, scrape } from "./environment.js";

/** Both counts for one replica. */
export interface ControllerConnections {
  readonly sockets: number;
  readonly metric: number;
}

/** The replica's controller ports (one-port: the cluster port; two-port: compute and storage). */
export function controllerPorts(record: ReplicaRecordView): number[] {
  const p = record.ports;
  if (p === null) return [];
  return "cluster" in p ? [p.cluster] : [p.compute, p.storage];
}

/** ESTABLISHED connections (IPv4 and IPv6 tables) whose remote port is in `ports`. */
export function establishedTo(ports: readonly number[]): number {
  let n = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const remote = f[2];
      if (remote === undefined || f[3] !== "01") continue; // 01 = ESTABLISHED
      const port = Number.parseInt(remote.split(":")[1] ?? "", 16);
      if (ports.includes(port)) n++;
    }
  }
  return n;
}

/** Both counts for `record` (its ports must be known). */
export async function controllerConnections(
  record: ReplicaRecordView,
): Promise<ControllerConnections> {
  if (record.ports === null) throw new Error(`replica ${record.replicaId} has no ports yet`);
  const m = await scrape(`http://127.0.0.1:${record.ports.http}`);
  return {
    sockets: establishedTo(controllerPorts(record)),
    metric: metricSum(m, "mz_cluster_controller_transport_connections"),
  };
}
