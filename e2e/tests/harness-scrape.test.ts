/**
 * The harness's `scrape` against a `/metrics` endpoint that never completes its answer: it
 * fails within its timeout, naming the URL and the timeout, instead of hanging the test.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScrapeTimeout, scrape } from "../src/harness/environment.js";

let server: Server;
let base: string;
const open: ServerResponse[] = [];

beforeAll(async () => {
  // `/metrics`: headers, one sample, then nothing more (a process stopped mid-answer);
  // `/silent/metrics`: no answer at all; `/ok/metrics`: a complete answer.
  server = createServer((req, res) => {
    if (req.url === "/ok/metrics") {
      res.end("# HELP up x\nup 1\n");
      return;
    }
    open.push(res);
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("up 1\n");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("scrape", () => {
  it("a server that never answers: ScrapeTimeout naming the URL and the timeout", async () => {
    const t0 = performance.now();
    const err = await scrape(`${base}/silent`, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScrapeTimeout);
    expect((err as Error).message).toBe(
      `GET ${base}/silent/metrics: no complete answer within 300 ms (is the process stopped, hung or overloaded?)`,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("an answer whose body never ends times out too", async () => {
    await expect(scrape(base, 300)).rejects.toThrow(ScrapeTimeout);
  });

  it("a complete answer is parsed", async () => {
    await expect(scrape(`${base}/ok`, 5_000)).resolves.toEqual([
      { name: "up", labels: {}, value: 1 },
    ]);
  });
});
