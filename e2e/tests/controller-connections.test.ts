/**
 * The socket count behind the phase 4 "one TCP connection per replica" checks
 * (`src/harness/controller-connections.ts`): ESTABLISHED connections to a port, counted from
 * /proc/net/tcp, follow real connections opening and closing.
 */
import { createConnection, createServer, type Socket } from "node:net";
import { expect, it } from "vitest";
import { controllerPorts, establishedTo } from "../src/harness/controller-connections.js";

it("counts the established connections to a port", async () => {
  const server = createServer((s) => s.on("error", () => {}));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const clients: Socket[] = [];
  try {
    expect(establishedTo([port])).toBe(0);
    for (let i = 0; i < 3; i++) {
      const c = createConnection(port, "127.0.0.1");
      await new Promise((r) => c.once("connect", r));
      clients.push(c);
    }
    expect(establishedTo([port])).toBe(3);
    clients.pop()?.destroy();
    const deadline = Date.now() + 5000;
    while (establishedTo([port]) !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(establishedTo([port])).toBe(2);
  } finally {
    for (const c of clients) c.destroy();
    await new Promise((r) => server.close(r));
  }
});

it("names a replica's controller ports by its layout", () => {
  const base = { replicaId: "r", clusterId: "u1", generation: 1, pid: 1, host: "127.0.0.1" };
  expect(controllerPorts({ ...base, ports: { cluster: 5, http: 6 } })).toEqual([5]);
  expect(controllerPorts({ ...base, ports: { compute: 1, storage: 2, http: 3 } })).toEqual([1, 2]);
  expect(controllerPorts({ ...base, ports: null })).toEqual([]);
});
