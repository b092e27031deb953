import { SELF } from "cloudflare:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createClient,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-web";
import { describe, expect, it } from "vitest";
import {
  IngestService,
  Level,
  PushLogsRequestSchema,
  Status,
  Stream,
} from "../../schemas/gen/edgetail/v1/ingest_pb";
import { MAX_BODY_BYTES } from "../../schemas/limits";
import { api, freshId, token } from "./helpers";

// connect-web asks for redirect: "error", which workerd does not implement.
const fetchSelf: typeof fetch = (input, init) =>
  SELF.fetch(input as RequestInfo, { ...init, redirect: "manual" });
const baseUrl = "https://edgetail.test";

const transports: [string, () => Transport][] = [
  [
    "Connect (binary)",
    () =>
      createConnectTransport({
        baseUrl,
        fetch: fetchSelf,
        useBinaryFormat: true,
      }),
  ],
  [
    "Connect (JSON)",
    () => createConnectTransport({ baseUrl, fetch: fetchSelf }),
  ],
  ["gRPC-Web", () => createGrpcWebTransport({ baseUrl, fetch: fetchSelf })],
];

async function ndjson(id: string, t: string) {
  const res = await api(`/v1/deployments/${id}/export?format=ndjson`, {
    token: t,
  });
  return (await res.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

async function connectError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected an error");
}

describe.each(transports)("ingest over %s", (_, transport) => {
  it("stores lines with the same semantics as the HTTP API", async () => {
    const client = createClient(IngestService, transport());
    const id = freshId();
    const t = await token();
    const headers = { authorization: `Bearer ${t}` };
    const base = Date.parse("2026-05-01T10:00:00Z");
    const request = {
      deploymentId: id,
      batch: { agent: "agent-1", seq: 1n },
      lines: [
        {
          message: "\u001b[32mhello\u001b[0m\r",
          step: "build",
          ts: timestampFromMs(base),
        },
        {
          message: "oops",
          level: Level.ERROR,
          stream: Stream.STDERR,
          metadata: { file: "a.ts" },
        },
        { message: "token ghp_fK8UXjzPM1Lzf356hwgGym4JAfnHARDcoded" },
      ],
    };
    const first = await client.pushLogs(request, { headers });
    expect([
      first.firstSeq,
      first.lastSeq,
      first.lines,
      first.replayed,
    ]).toEqual([1n, 3n, 3, false]);

    const again = await client.pushLogs(request, { headers });
    const reused = await connectError(
      client.pushLogs(
        {
          deploymentId: id,
          batch: { agent: "agent-1", seq: 1n },
          lines: [{ message: "x" }],
        },
        { headers },
      ),
    );
    expect(reused.metadata.get("edgetail-error-code")).toBe(
      "idempotency_conflict",
    );
    expect([again.lastSeq, again.cursor, again.replayed]).toEqual([
      3n,
      first.cursor,
      true,
    ]);

    const lines = await ndjson(id, t);
    expect(lines).toMatchObject([
      {
        seq: 1,
        message: "\u001b[32mhello\u001b[0m\r",
        step: "build",
        level: "info",
        stream: "stdout",
        ts: "2026-05-01T10:00:00.000Z",
      },
      {
        seq: 2,
        message: "oops",
        level: "error",
        stream: "stderr",
        metadata: { file: "a.ts" },
      },
      { seq: 3, message: "token ***", redaction_state: "redacted" },
    ]);

    await client.addSecrets(
      { deploymentId: id, secrets: ["mask-me-please"] },
      { headers },
    );
    await client.pushLogs(
      { deploymentId: id, lines: [{ message: "say mask-me-please" }] },
      { headers },
    );
    const done = await client.complete(
      { deploymentId: id, status: Status.FAILED, exitCode: 3 },
      { headers },
    );
    expect([done.status, done.exitCode, done.lastSeq]).toEqual([
      Status.FAILED,
      3,
      4n,
    ]);
    expect((await ndjson(id, t)).at(-1)?.message).toBe("say ***");

    const late = await connectError(
      client.pushLogs(
        { deploymentId: id, lines: [{ message: "late" }] },
        { headers },
      ),
    );
    expect([late.code, late.metadata.get("edgetail-error-code")]).toEqual([
      Code.FailedPrecondition,
      "deployment_completed",
    ]);
  });

  it("answers bad input and bad tokens with codes", async () => {
    const client = createClient(IngestService, transport());
    const t = await token();
    const headers = { authorization: `Bearer ${t}` };
    const reader = await token({ scope: "logs:read" });
    const cases: [() => Promise<unknown>, Code, string, string?][] = [
      [
        () =>
          client.pushLogs({
            deploymentId: freshId(),
            lines: [{ message: "x" }],
          }),
        Code.Unauthenticated,
        "token_missing",
      ],
      [
        () =>
          client.pushLogs(
            { deploymentId: freshId(), lines: [{ message: "x" }] },
            { headers: { authorization: "Bearer nope" } },
          ),
        Code.Unauthenticated,
        "token_invalid",
      ],
      [
        () =>
          client.pushLogs(
            { deploymentId: "bad id!", lines: [{ message: "x" }] },
            { headers },
          ),
        Code.InvalidArgument,
        "invalid_deployment_id",
      ],
      [
        () =>
          client.pushLogs({ deploymentId: freshId(), lines: [] }, { headers }),
        Code.InvalidArgument,
        "empty_batch",
      ],
      [
        () =>
          client.pushLogs(
            {
              deploymentId: freshId(),
              lines: [{ message: "x", step: "s".repeat(200) }],
            },
            { headers },
          ),
        Code.InvalidArgument,
        "invalid_field",
        "lines.0.step",
      ],
      [
        () =>
          client.pushLogs(
            {
              deploymentId: freshId(),
              lines: [{ message: "x" }],
              secrets: ["ab"],
            },
            { headers },
          ),
        Code.InvalidArgument,
        "invalid_field",
        "secrets.0",
      ],
      [
        () => client.complete({ deploymentId: freshId() }, { headers }),
        Code.InvalidArgument,
        "invalid_field",
        "status",
      ],
      [
        () =>
          client.pushLogs(
            { deploymentId: freshId(), lines: [{ message: "x" }] },
            {
              headers: {
                authorization: `Bearer ${reader}`,
              },
            },
          ),
        Code.PermissionDenied,
        "forbidden_scope",
      ],
    ];
    for (const [call, code, errorCode, field] of cases) {
      const err = await connectError(call());
      expect([err.code, err.metadata.get("edgetail-error-code")]).toEqual([
        code,
        errorCode,
      ]);
      if (field) expect(err.metadata.get("edgetail-error-field")).toBe(field);
    }
  });
});

describe("ingest over Connect: limits", () => {
  it("refuses a message over the body limit", async () => {
    const client = createClient(
      IngestService,
      transports[0]?.[1]() as Transport,
    );
    const t = await token();
    const big = "x".repeat(8000);
    const lines = Array.from(
      { length: Math.ceil(MAX_BODY_BYTES / 8000) + 10 },
      () => ({ message: big }),
    );
    const err = await connectError(
      client.pushLogs(
        { deploymentId: freshId(), lines },
        { headers: { authorization: `Bearer ${t}` } },
      ),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("accepts gzip-compressed Connect requests", async () => {
    const id = freshId();
    const t = await token();
    const message = toBinary(
      PushLogsRequestSchema,
      create(PushLogsRequestSchema, {
        deploymentId: id,
        lines: [{ message: "zipped" }],
      }),
    );
    const body = await new Response(
      new Blob([message]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer();
    const res = await SELF.fetch(
      `${baseUrl}/edgetail.v1.IngestService/PushLogs`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${t}`,
          "content-type": "application/proto",
          "content-encoding": "gzip",
          "connect-protocol-version": "1",
        },
        body,
      },
    );
    expect(res.status).toBe(200);
    expect((await ndjson(id, t)).map((l) => l.message)).toEqual(["zipped"]);
  });
});
