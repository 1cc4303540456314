/**
 * The environment API refuses a request message over `MAX_API_MESSAGE_BYTES` from its declared
 * length, before buffering it (there was no limit: a 50 MB message was read whole).
 */
import http from "node:http";
import { MAX_API_MESSAGE_BYTES } from "@mzts/protocol";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "./server.js";

let api: ApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** POSTs a Connect JSON request declaring `length` bytes but sending only a few. */
function postDeclaring(url: string, length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/mz.environment.v1.EnvironmentService/Status`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(length) },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.write("{}");
  });
}

describe("environment API message limits", () => {
  it("refuses a request larger than the limit with resource_exhausted", async () => {
    // No request reaches the environment: a stub stands in for it.
    api = await startApiServer({ environment: {} as never, registry: new Registry() });
    const r = await postDeclaring(api.httpUrl, MAX_API_MESSAGE_BYTES + 1);
    expect(JSON.parse(r.body)).toMatchObject({ code: "resource_exhausted" });
  });
});
