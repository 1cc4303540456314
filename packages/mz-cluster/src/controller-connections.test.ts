import {
  generateReplicaSecret,
  HelloMismatch,
  ProtocolVersionMismatch,
  StaleGeneration,
  signHello,
} from "@mzts/protocol";
import { describe, expect, it, vi } from "vitest";
import {
  ConnectionSuperseded,
  ControllerConnections,
  HelloUnauthenticated,
  ProtocolViolation,
} from "./controller-connections.js";
import type { ClusterError } from "./errors.js";

const hello = (nonce: string, generation: bigint, protocolVersion = 1) => ({
  nonce,
  generation,
  protocolVersion,
  buildVersion: "0.0.0",
});

function conns(extra: Partial<ConstructorParameters<typeof ControllerConnections>[0]> = {}) {
  return new ControllerConnections({
    protocolVersion: 1,
    noControllerTimeoutMs: 0,
    secret: null,
    ...extra,
  });
}

describe("ControllerConnections", () => {
  it("lets the newest connection win and ends the previous one with a clear error", () => {
    const c = conns();
    const ended: ClusterError[] = [];
    const a = c.open(hello("a", 3n), (e) => ended.push(e));
    const b = c.open(hello("b", 3n), () => {});
    expect(c.current).toBe(b);
    expect(a.stage).toBe("closed");
    expect(ended[0]).toBeInstanceOf(ConnectionSuperseded);
    expect(ended[0]!.message).toContain("replaced by a newer connection b");
  });

  it("fences a hello from an older generation, naming both generations", () => {
    const c = conns();
    c.open(hello("new", 5n), () => {});
    const err = (() => {
      try {
        c.open(hello("old", 4n), () => {});
      } catch (e) {
        return e as StaleGeneration;
      }
    })();
    expect(err).toBeInstanceOf(StaleGeneration);
    expect(err!.message).toContain("generation 4");
    expect(err!.message).toContain("generation 5");
    expect(err!.generation).toBe(4n);
    expect(err!.currentGeneration).toBe(5n);
    expect(c.current?.nonce).toBe("new");
    expect(c.fencedCount).toBe(1);
  });

  it("refuses another protocol version, naming both", () => {
    const c = conns();
    expect(() => c.open(hello("x", 1n, 2), () => {})).toThrow(ProtocolVersionMismatch);
    expect(() => c.open(hello("x", 1n, 2), () => {})).toThrow(
      /protocol version 2 .* speaks protocol version 1/,
    );
  });

  it("enforces exactly one InitializationComplete and no second hello", () => {
    const c = conns();
    const a = c.open(hello("a", 1n), () => {});
    a.admit("other");
    expect(a.stage).toBe("initializing");
    a.admit("initializationComplete");
    expect(a.stage).toBe("live");
    const second = (() => {
      try {
        a.admit("initializationComplete");
      } catch (e) {
        return e as ProtocolViolation;
      }
    })();
    expect(second).toBeInstanceOf(ProtocolViolation);
    expect(second!.code).toBe("FailedPrecondition");
    expect(() => a.admit("hello")).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
  });

  it("fires the no-controller timeout only while no controller is connected", () => {
    vi.useFakeTimers();
    try {
      const onNoController = vi.fn();
      const c = conns({ noControllerTimeoutMs: 1000, onNoController });
      vi.advanceTimersByTime(500);
      const a = c.open(hello("a", 1n), () => {});
      vi.advanceTimersByTime(5000);
      expect(onNoController).not.toHaveBeenCalled();
      c.closed(a);
      vi.advanceTimersByTime(999);
      expect(onNoController).not.toHaveBeenCalled();
      vi.advanceTimersByTime(2);
      expect(onNoController).toHaveBeenCalledTimes(1);
      c.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("with a secret, an unauthenticated hello changes nothing: no fencing, no superseding", () => {
    const secret = generateReplicaSecret();
    const c = conns({ secret, stream: "compute", label: "replica u1 compute port" });
    const nonce = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, "0")}`;
    const real = c.open(signHello(hello(nonce(1), 3n), secret, "compute"), () => {});
    for (const h of [
      hello(nonce(2), 99n),
      signHello(hello(nonce(3), 99n), generateReplicaSecret(), "compute"),
      signHello(hello(nonce(4), 99n), secret, "storage"),
      signHello(hello(nonce(1), 3n), secret, "compute"), // replayed
    ]) {
      expect(() => c.open(h, () => {})).toThrow(HelloUnauthenticated);
    }
    expect(c.unauthenticatedCount).toBe(4);
    expect(c.highestGeneration).toBe(3n);
    expect(c.current).toBe(real);
    expect(real.stage).toBe("initializing");
  });

  it("refuses createInstance after InitializationComplete and a second one", () => {
    const a = conns().open(hello("a", 1n), () => {});
    a.admit("createInstance");
    expect(() => a.admit("createInstance")).toThrow(/second createInstance/);
    const b = conns().open(hello("b", 1n), () => {});
    b.admit("initializationComplete");
    expect(() => b.admit("createInstance")).toThrow(ProtocolViolation);
  });

  it("on a compute stream, refuses any command before createInstance", () => {
    const compute = conns({ stream: "compute" }).open(hello("a", 1n), () => {});
    expect(() => compute.admit("other")).toThrow(/a command before createInstance/);
    const ok = conns({ stream: "compute" }).open(hello("b", 1n), () => {});
    ok.admit("createInstance");
    ok.admit("other");
    ok.admit("initializationComplete");
    // The storage stream has no createInstance: its commands come right after the hello.
    const storage = conns({ stream: "storage" }).open(hello("c", 1n), () => {});
    storage.admit("other");
    storage.admit("initializationComplete");
  });

  it("join: the other sub-protocol's hello rides the first's connection without fencing or superseding", () => {
    const secret = generateReplicaSecret();
    const c = conns({ secret });
    const nonce = "00000000-0000-4000-8000-000000000001";
    const first = c.open(signHello(hello(nonce, 2n), secret, "storage"), () => {}, "storage");
    expect(first.stream).toBe("storage");
    const joined = c.join(first, signHello(hello(nonce, 2n), secret, "compute"), "compute");
    expect(joined.stream).toBe("compute");
    expect(c.current).toBe(first);
    expect(c.highestGeneration).toBe(2n);
    // The joined compute sub-protocol keeps compute's stage rule.
    expect(() => joined.admit("other")).toThrow(/a command before createInstance/);
    // Another nonce or generation disagrees; a proof for another stream is unauthenticated.
    const other = "00000000-0000-4000-8000-000000000002";
    expect(() => c.join(first, signHello(hello(other, 2n), secret, "compute"), "compute")).toThrow(
      HelloMismatch,
    );
    expect(() => c.join(first, signHello(hello(nonce, 3n), secret, "compute"), "compute")).toThrow(
      HelloMismatch,
    );
    expect(() => c.join(first, signHello(hello(nonce, 2n), secret, "storage"), "compute")).toThrow(
      HelloUnauthenticated,
    );
    expect(c.highestGeneration).toBe(2n);
    expect(() => c.join(first, hello(nonce, 2n), "storage")).toThrow(/a second storage hello/);
    c.closed(first);
    expect(() => c.join(first, signHello(hello(nonce, 2n), secret, "compute"), "compute")).toThrow(
      /closed connection/,
    );
  });
});
