/**
 * A local HTTP proxy in front of the stack that injects faults on a
 * schedule: error answers (429 with Retry-After, 503), connections
 * dropped before the request is forwarded or after the server answered
 * (the answer is lost, the write is not), and WebSocket connections
 * killed on demand. Request bodies are always read whole first, so a
 * fault never leaves the client mid-upload.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import net from "node:net";

/** What to do with one request. */
export type Fault =
  | { status: number; code: string; retryAfter?: number }
  | "drop-before"
  | "drop-after";

/** Picks the fault for the n-th request (from 1) matching nothing else. */
export type Plan = (req: {
  method: string;
  path: string;
  n: number;
}) => Fault | undefined;

/** A running proxy. */
export interface FaultProxy {
  url: string;
  /** Faults injected so far, by kind. */
  injected: Record<string, number>;
  setPlan(plan: Plan): void;
  /** WebSocket connections open now. */
  openSockets(): number;
  /** Kills every open WebSocket connection, both sides. */
  dropSockets(): number;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an http origin) on a free local port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const tunnels = new Set<Socket>();
  const injected: Record<string, number> = {};
  let plan: Plan = () => undefined;
  let n = 0;
  const count = (kind: string) => {
    injected[kind] = (injected[kind] ?? 0) + 1;
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    n += 1;
    const fault = plan({
      method: req.method ?? "GET",
      path: req.url ?? "/",
      n,
    });

    if (fault === "drop-before") {
      count(fault);
      req.socket.destroy();
      return;
    }
    if (fault && typeof fault === "object") {
      count(String(fault.status));
      const headers: Record<string, string> = {
        "content-type": "application/json",
      };
      if (fault.retryAfter !== undefined) {
        headers["retry-after"] = String(fault.retryAfter);
      }
      res.writeHead(fault.status, headers);
      res.end(
        JSON.stringify({
          error: { code: fault.code, message: "injected", request_id: "proxy" },
        }),
      );
      return;
    }

    const headers = { ...req.headers, host: upstream.host };
    delete headers["transfer-encoding"];
    headers["content-length"] = String(body.length);
    const up = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (answer) => {
        if (fault === "drop-after") {
          // Let the server finish, then lose its answer.
          answer.resume();
          answer.on("end", () => {
            count(fault);
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => req.socket.destroy());
    up.end(body);
  });

  // WebSockets: a raw tunnel after replaying the upgrade request.
  server.on("upgrade", (req, client: Socket, head: Buffer) => {
    const server = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? "";
        const value =
          name.toLowerCase() === "host" ? upstream.host : req.rawHeaders[i + 1];
        lines.push(`${name}: ${value}`);
      }
      server.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) server.write(head);
      server.pipe(client);
      client.pipe(server);
    });
    const pair = [client, server];
    for (const s of pair) {
      tunnels.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        tunnels.delete(s);
        for (const other of pair) other.destroy();
      });
    }
  });

  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve()),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    injected,
    setPlan(next) {
      plan = next;
      n = 0;
    },
    openSockets() {
      return tunnels.size / 2;
    },
    dropSockets() {
      const open = tunnels.size;
      for (const s of [...tunnels]) s.destroy();
      return open / 2;
    },
    async close() {
      for (const s of [...tunnels]) s.destroy();
      server.closeAllConnections();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
