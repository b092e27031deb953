/**
 * The whole local stack for end-to-end tests: the chDB ClickHouse dev
 * server with migrations applied, and the Worker under wrangler's dev
 * runtime (local Durable Objects, R2 and Queues), on free ports.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { unstable_startWorker } from "wrangler";
import WebSocket from "ws";
import { startClickHouseDevServer } from "../../scripts/clickhouse-dev/server.ts";
import { applyMigrations } from "../../scripts/migrate.ts";

const SECRET = "e2e-secret-for-edgetail-tests-only";

export interface Stack {
  url: string;
  clickhouseUrl: string;
  token(opts?: {
    tenant?: string;
    deployments?: string[] | "*";
  }): Promise<string>;
  /** Restarts the Worker (same state directory), as a deploy would. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts ClickHouse and the Worker; `vars` override wrangler.toml [vars]. */
export async function startStack(
  vars: Record<string, string> = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "edgetail-e2e-"));
  const clickhouse = await startClickHouseDevServer({
    host: "127.0.0.1",
    port: 0,
    dataDir: join(dir, "clickhouse"),
  });
  await applyMigrations({ url: clickhouse.url, database: "edgetail" });
  const bindings = Object.fromEntries(
    Object.entries({
      JWT_SECRET: SECRET,
      CLICKHOUSE_URL: clickhouse.url,
      ...vars,
    }).map(([k, value]) => [k, { type: "plain_text" as const, value }]),
  );
  let port = 0;
  const start = async () => {
    const worker = await unstable_startWorker({
      config: "wrangler.toml",
      bindings,
      envFiles: [],
      dev: {
        server: { hostname: "127.0.0.1", port },
        inspector: false,
        persist: join(dir, "wrangler"),
        watch: false,
        logLevel: "warn",
      },
    });
    await worker.ready;
    const url = await worker.url;
    port = Number(url.port);
    return { worker, url: url.origin };
  };
  let current = await start();
  return {
    get url() {
      return current.url;
    },
    clickhouseUrl: clickhouse.url,
    token: (opts = {}) =>
      signToken(opts.tenant ?? "e2e", opts.deployments ?? "*"),
    async restart() {
      await current.worker.dispose();
      current = await start();
    },
    async stop() {
      await current.worker.dispose();
      await clickhouse.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function signToken(
  tenant: string,
  deployments: string[] | "*",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant, scope: "logs:write logs:read", deployments })
    .setProtectedHeader({ alg: "HS256" })
    .setAudience("edgetail")
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

/** A line as received by a viewer. */
export interface WireLine {
  seq: number;
  message: string;
  partial?: boolean;
  cursor: string;
  redaction_state: string;
}

/** A WebSocket viewer that acknowledges what it receives. */
export class Viewer {
  readonly lines: WireLine[] = [];
  readonly events: { type: string; [k: string]: unknown }[] = [];
  private readonly ws: WebSocket;
  private received = 0;
  readonly closed: Promise<number>;

  constructor(url: string, id: string, token: string, query = "") {
    const base = url.replace(/^http/, "ws");
    this.ws = new WebSocket(
      `${base}/v1/deployments/${id}/stream?access_token=${token}${query ? `&${query}` : ""}`,
    );
    this.ws.on("message", (data) => {
      const text = data.toString("utf8");
      this.received += text.length;
      const message = JSON.parse(text);
      this.events.push(message);
      if (message.type === "lines") this.lines.push(...message.lines);
      this.ws.send(JSON.stringify({ type: "ack", received: this.received }));
    });
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code) => resolve(code)),
    );
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  /** Waits until the viewer holds seq `last`. */
  async until(last: number, ms = 60_000): Promise<void> {
    const started = Date.now();
    while ((this.lines.at(-1)?.seq ?? 0) < last) {
      if (Date.now() - started > ms) {
        throw new Error(
          `viewer stuck at ${this.lines.at(-1)?.seq ?? 0} of ${last}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.close(1000);
  }
}

/** Joins `partial` parts back into the lines they were split from. */
export function logicalLines(
  lines: WireLine[],
): { text: string; redacted: boolean }[] {
  const out: { text: string; redacted: boolean }[] = [];
  let text = "";
  let redacted = false;
  for (const line of lines) {
    text += line.message;
    redacted ||= line.redaction_state === "redacted";
    if (!line.partial) {
      out.push({ text, redacted });
      text = "";
      redacted = false;
    }
  }
  if (text !== "" || lines.at(-1)?.partial) out.push({ text, redacted });
  return out;
}
