/**
 * The controller-port seam of phase 4 (*client*, style §15–16): `serveControllers` serves the
 * layout `parseConfig` resolved from the PhaseSet, once, at replica start:
 * - `cluster-unification-client` takes effect → one port serving only
 *   `mz.cluster.v1.ClusterService.Control`: one stream per controller carries both workloads (one
 *   `ControllerConnections`, so newest-wins and fencing apply to the stream as a whole; hellos
 *   are signed per sub-protocol). A `ComputeService`/`StorageService` call there is `Unimplemented`.
 * - otherwise (legacy) → compute and storage each on their own port, each with its own
 *   connections; a `ClusterService` call there is `Unimplemented`.
 * The no-controller timeout fires when no port has a controller (a cluster stream counts for both
 * workloads). Refusals name the replica and the port.
 */
import { ControllerConnections, computeStreamCodec, storageStreamCodec } from "@mzts/mz-cluster";
import { type HelloStream, PROTOCOL_VERSION } from "@mzts/protocol";
import { ComputeServerFramesService, ComputeService, StorageService } from "@mzts/protocol/wire";
import type { Logger } from "pino";
import type { ControllerListen } from "./config.js";
import type { ClusterdMetrics } from "./metrics.js";
import type { SelectedRuntimes } from "./select.js";
import { type ControllerPort, serveCluster, serveWorkload } from "./serve.js";

export interface ControllersOptions {
  readonly listen: ControllerListen;
  readonly selected: SelectedRuntimes;
  readonly clusterId: string;
  readonly replicaId: string;
  /** The replica secret; null = `--insecure-no-auth`. */
  readonly secret: Uint8Array | null;
  readonly noControllerTimeoutMs: number;
  /** Called once no port has had a controller for `noControllerTimeoutMs`. */
  readonly onNoController: () => void;
  readonly metrics: ClusterdMetrics;
  readonly logger: Logger;
}

export interface ServedControllers {
  /**
   * The ports chosen, for the ready line and `/health`: `{clusterPort}`, or (legacy)
   * `{computePort, storagePort}`.
   */
  readonly ports: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** Serves the controller port(s) of `opts.listen`'s layout. @throws the listen error */
export async function serveControllers(opts: ControllersOptions): Promise<ServedControllers> {
  const all: ControllerConnections[] = [];
  const noController = () => {
    if (all.every((c) => c.current === null)) opts.onNoController();
  };
  const connections = (port: HelloStream) => {
    const c = new ControllerConnections({
      protocolVersion: PROTOCOL_VERSION,
      noControllerTimeoutMs: opts.noControllerTimeoutMs,
      onNoController: noController,
      secret: opts.secret,
      stream: port,
      label: `replica ${opts.replicaId} (cluster ${opts.clusterId}) ${port} port`,
    });
    all.push(c);
    return c;
  };
  const { selected, metrics, logger } = opts;
  const compute = { runtime: selected.compute, newMerger: selected.newComputeMerger };
  const storage = { runtime: selected.storage, newMerger: selected.newStorageMerger };
  const served: Array<[string, ControllerPort]> = [];
  const close = async () => {
    for (const c of all) c.close();
    await Promise.allSettled(served.map(([, p]) => p.close()));
  };
  try {
    if (opts.listen.layout === "cluster") {
      const port = await serveCluster({
        compute,
        storage,
        connections: connections("cluster"),
        listen: opts.listen.cluster,
        metrics,
        logger,
      });
      served.push(["clusterPort", port]);
    } else {
      // PHASE(client): legacy — delete when cluster-unification-client is retired
      const common = { metrics, logger };
      served.push([
        "computePort",
        await serveWorkload({
          name: "compute",
          // Framed requests: each command's bytes, decoded by the codec (issue 16).
          service: ComputeServerFramesService,
          jsonService: ComputeService,
          codec: computeStreamCodec,
          ...compute,
          connections: connections("compute"),
          listen: opts.listen.compute,
          ...common,
        }),
      ]);
      served.push([
        "storagePort",
        await serveWorkload({
          name: "storage",
          service: StorageService,
          codec: storageStreamCodec,
          ...storage,
          connections: connections("storage"),
          listen: opts.listen.storage,
          ...common,
        }),
      ]);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { ports: Object.fromEntries(served.map(([k, p]) => [k, p.port])), close };
}
