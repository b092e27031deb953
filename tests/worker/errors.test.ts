import { describe, expect, it, vi } from "vitest";
import { encodeCursor, logKey } from "../../schemas/cursor";
import { MAX_BODY_BYTES, MAX_LINES_PER_BATCH } from "../../schemas/limits";
import { api, freshId, push, token } from "./helpers";

interface ErrorBody {
  error: { code: string; message: string; request_id: string; field?: string };
}

async function expectError(
  res: Response,
  status: number,
  code: string,
  field?: string,
): Promise<ErrorBody> {
  const body = await res.json<ErrorBody>();
  expect({ status: res.status, code: body.error.code }).toEqual({
    status,
    code,
  });
  expect(body.error.request_id).not.toBe("");
  if (field !== undefined) expect(body.error.field).toBe(field);
  return body;
}

function post(
  id: string,
  t: string,
  body: BodyInit,
  type = "application/json",
  headers: Record<string, string> = {},
) {
  return api(`/v1/deployments/${id}/logs`, {
    method: "POST",
    token: t,
    headers: { "content-type": type, ...headers },
    body,
  });
}

async function gzip(data: Uint8Array | string): Promise<ArrayBuffer> {
  return new Response(
    new Blob([data]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
}

describe("auth", () => {
  it("answers 401 token_missing without a token", async () => {
    await expectError(
      await api(`/v1/deployments/${freshId()}/logs`),
      401,
      "token_missing",
    );
  });

  it("answers 401 token_invalid for garbage and for a wrong key", async () => {
    const id = freshId();
    await expectError(
      await api(`/v1/deployments/${id}/logs`, { token: "abc.def.ghi" }),
      401,
      "token_invalid",
    );
    const forged = await token({ secret: "another-secret-entirely" });
    await expectError(
      await api(`/v1/deployments/${id}/logs`, { token: forged }),
      401,
      "token_invalid",
    );
  });

  it("answers 401 token_expired for an expired token", async () => {
    const expired = await token({ ttl: -60 });
    await expectError(
      await api(`/v1/deployments/${freshId()}/logs`, { token: expired }),
      401,
      "token_expired",
    );
  });

  it("answers 403 forbidden_scope when writing with a read token", async () => {
    const reader = await token({ scope: "logs:read" });
    await expectError(
      await post(
        freshId(),
        reader,
        JSON.stringify({ lines: [{ message: "x" }] }),
      ),
      403,
      "forbidden_scope",
    );
  });

  it("answers 403 forbidden_deployment outside the token's deployments", async () => {
    const t = await token({ deployments: ["only-this-one"] });
    await expectError(
      await post(
        "another-one",
        t,
        JSON.stringify({ lines: [{ message: "x" }] }),
      ),
      403,
      "forbidden_deployment",
    );
  });

  it("keeps tenants apart: same deployment id, two logs", async () => {
    const id = freshId();
    const a = await token({ tenant: "tenant-a" });
    const b = await token({ tenant: "tenant-b" });
    const pushed = await push(id, a, [{ message: "secret plans of A" }]);
    await push(id, b, [{ message: "B's line" }]);
    const exportB = await api(`/v1/deployments/${id}/export`, { token: b });
    expect(await exportB.text()).toBe("B's line\n");
    // A's cursor means nothing in B's log.
    await expectError(
      await api(`/v1/deployments/${id}/export?cursor=${pushed.cursor}`, {
        token: b,
      }),
      400,
      "invalid_cursor",
      "cursor",
    );
  });
});

describe("bad input", () => {
  it("answers 400 invalid_json for malformed JSON", async () => {
    await expectError(
      await post(freshId(), await token(), "{ not json"),
      400,
      "invalid_json",
      "body",
    );
  });

  it("names the field at fault for wrong types", async () => {
    const t = await token();
    await expectError(
      await post(freshId(), t, JSON.stringify({ lines: [{ message: 5 }] })),
      400,
      "invalid_field",
      "lines.0.message",
    );
    await expectError(
      await post(
        freshId(),
        t,
        JSON.stringify({ lines: [{ message: "a", level: "loud" }] }),
      ),
      400,
      "invalid_field",
      "lines.0.level",
    );
    await expectError(
      await post(
        freshId(),
        t,
        '{"message":"ok"}\n{"message":true}\n',
        "application/x-ndjson",
      ),
      400,
      "invalid_field",
      "lines.1.message",
    );
  });

  it("answers 413 for a body over the limit, declared or streamed", async () => {
    const t = await token();
    const big = new Uint8Array(MAX_BODY_BYTES + 1).fill(0x61);
    await expectError(
      await post(freshId(), t, big, "text/plain"),
      413,
      "payload_too_large",
    );
  });

  it("answers 413 for gzip that inflates past the limit", async () => {
    const bomb = await gzip(new Uint8Array(MAX_BODY_BYTES + 1024).fill(0x0a));
    expect(bomb.byteLength).toBeLessThan(100_000);
    const res = await post(freshId(), await token(), bomb, "text/plain", {
      "content-encoding": "gzip",
    });
    await expectError(res, 413, "payload_too_large");
  });

  it("answers 400 invalid_encoding for corrupt gzip", async () => {
    const res = await post(
      freshId(),
      await token(),
      "definitely not gzip",
      "text/plain",
      { "content-encoding": "gzip" },
    );
    await expectError(res, 400, "invalid_encoding");
  });

  it("accepts gzip bodies", async () => {
    const id = freshId();
    const t = await token();
    const res = await post(id, t, await gzip("a\nb\n"), "text/plain", {
      "content-encoding": "gzip",
    });
    expect(res.status).toBe(201);
    expect(
      await (await api(`/v1/deployments/${id}/export`, { token: t })).text(),
    ).toBe("a\nb\n");
  });

  it("answers 415 for unknown content types and encodings", async () => {
    const t = await token();
    await expectError(
      await post(freshId(), t, "x", "application/xml"),
      415,
      "unsupported_media_type",
      "content-type",
    );
    await expectError(
      await post(freshId(), t, "x", "text/plain", { "content-encoding": "br" }),
      415,
      "unsupported_media_type",
      "content-encoding",
    );
  });

  it("answers 400 for empty batches and too many lines", async () => {
    const t = await token();
    await expectError(await post(freshId(), t, ""), 400, "invalid_json");
    await expectError(
      await post(freshId(), t, "", "text/plain"),
      400,
      "empty_batch",
    );
    const many = "x\n".repeat(MAX_LINES_PER_BATCH + 1);
    await expectError(
      await post(freshId(), t, many, "text/plain"),
      400,
      "too_many_lines",
    );
  });

  it("answers 400 invalid_deployment_id for a bad id", async () => {
    await expectError(
      await post(
        "bad%20id",
        await token(),
        JSON.stringify({ lines: [{ message: "x" }] }),
      ),
      400,
      "invalid_deployment_id",
      "id",
    );
  });

  it("answers 400 invalid_cursor for a malformed cursor everywhere", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    await expectError(
      await api(`/v1/deployments/${id}/logs?cursor=nope!`, { token: t }),
      400,
      "invalid_cursor",
      "cursor",
    );
    await expectError(
      await api(`/v1/deployments/${id}/export?cursor=AAAA`, { token: t }),
      400,
      "invalid_cursor",
      "cursor",
    );
    const ws = await api(`/v1/deployments/${id}/stream?cursor=zzz`, {
      token: t,
      headers: { upgrade: "websocket" },
    });
    await expectError(ws, 400, "invalid_cursor", "cursor");
  });

  it("rejects a cursor from another deployment of the same tenant", async () => {
    const t = await token();
    const a = await push(freshId(), t, [{ message: "a" }]);
    const other = freshId();
    await push(other, t, [{ message: "b" }]);
    await expectError(
      await api(`/v1/deployments/${other}/logs?cursor=${a.cursor}`, {
        token: t,
      }),
      400,
      "invalid_cursor",
    );
  });

  it("answers 400 for an unknown export format", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    const res = await api(`/v1/deployments/${id}/export?format=xml`, {
      token: t,
    });
    await expectError(res, 400, "invalid_field", "format");
  });

  it("answers 406 for a stream request that is neither WebSocket nor SSE", async () => {
    await expectError(
      await api(`/v1/deployments/${freshId()}/stream`, {
        token: await token(),
      }),
      406,
      "not_acceptable",
    );
  });

  it("answers 400 for a bad tail", async () => {
    await expectError(
      await api(`/v1/deployments/${freshId()}/stream?tail=-1`, {
        token: await token(),
        headers: { accept: "text/event-stream" },
      }),
      400,
      "invalid_field",
      "tail",
    );
  });

  it("answers 404 not_found for unknown routes", async () => {
    await expectError(await api("/v2/whatever"), 404, "not_found");
  });

  it("answers 409 deployment_completed for lines after complete", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    await api(`/v1/deployments/${id}/complete`, {
      method: "POST",
      token: t,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "success" }),
    });
    await expectError(
      await post(id, t, JSON.stringify({ lines: [{ message: "late" }] })),
      409,
      "deployment_completed",
    );
  });

  it("answers 400 for metadata over the limit", async () => {
    const res = await post(
      freshId(),
      await token(),
      JSON.stringify({
        lines: [{ message: "x", metadata: { k: "v".repeat(3000) } }],
      }),
    );
    await expectError(res, 400, "invalid_field", "lines.0.metadata");
  });

  it("answers 429 rate_limited with Retry-After past the burst", async () => {
    // vitest.config.ts: 2,000 lines/s, burst 30,000.
    const id = freshId();
    const t = await token();
    const batch = "x\n".repeat(20_000);
    expect((await post(id, t, batch, "text/plain")).status).toBe(201);
    const limited = await post(id, t, batch, "text/plain");
    await expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(
      1,
    );
    // Nothing of the refused batch was stored.
    const info = await (await api(`/v1/deployments/${id}`, { token: t })).json<{
      last_seq: number;
    }>();
    expect(info.last_seq).toBe(20_000);
  });

  it("turns invalid UTF-8 in plain text into U+FFFD and keeps \\r and escapes", async () => {
    const id = freshId();
    const t = await token();
    const bytes = new Uint8Array([
      0x61, 0xff, 0x62, 0x0d, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x0a,
    ]);
    expect((await post(id, t, bytes, "text/plain")).status).toBe(201);
    const text = await (
      await api(`/v1/deployments/${id}/export`, { token: t })
    ).text();
    expect(text).toBe("a\uFFFDb\r\u001b[31m\n");
  });
});

describe("audit", () => {
  it("logs every authenticated access with tenant, subject and status", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      const reader = await token({ scope: "logs:read", tenant: "audited" });
      await api(`/v1/deployments/${freshId()}/logs`, {
        method: "POST",
        token: reader,
        headers: { "content-type": "text/plain" },
        body: "x\n",
      });
    } finally {
      spy.mockRestore();
    }
    const audit = lines
      .map((l) => JSON.parse(l))
      .find((e) => e.event === "audit.access");
    expect(audit).toMatchObject({
      tenant: "audited",
      method: "POST",
      status: 403,
    });
  });
});

describe("strict parameters (regressions from a break-it run)", () => {
  it("refuses times before 1970 in ISO form as in epoch form", async () => {
    const body = JSON.stringify({
      lines: [{ message: "a", ts: "0000-01-01T00:00:00Z" }],
    });
    await expectError(
      await post(freshId(), await token(), body),
      400,
      "invalid_field",
      "lines.0.ts",
    );
  });

  it("takes only decimal integers for limit, from_seq and tail", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    for (const q of [
      "limit=1e3",
      "limit=0x10",
      "limit=%20%205",
      "from_seq=1.5",
    ]) {
      const res = await api(`/v1/deployments/${id}/logs?${q}`, { token: t });
      expect([q, res.status]).toEqual([q, 400]);
    }
    for (const q of ["tail=1e3", "tail=", "tail=0x10"]) {
      const res = await api(`/v1/deployments/${id}/stream?${q}`, {
        token: t,
        headers: { accept: "text/event-stream" },
      });
      await expectError(res, 400, "invalid_field", "tail");
    }
  });

  it("refuses ?cursor= with ?tail=, but lets Last-Event-ID override ?tail=", async () => {
    const id = freshId();
    const t = await token();
    const a = await push(id, t, [
      { message: "1" },
      { message: "2" },
      { message: "3" },
    ]);
    const both = await api(
      `/v1/deployments/${id}/stream?tail=1&cursor=${a.cursor}`,
      { token: t, headers: { accept: "text/event-stream" } },
    );
    await expectError(both, 400, "invalid_field", "tail");
    const reconnect = await api(`/v1/deployments/${id}/stream?tail=1`, {
      token: t,
      headers: { accept: "text/event-stream", "last-event-id": a.cursor },
    });
    expect(reconnect.status).toBe(200);
    await reconnect.body?.cancel();
  });
});

describe("methods and positions", () => {
  it("answers 405 method_not_allowed with Allow for a wrong method", async () => {
    const t = await token();
    const res = await api(`/v1/deployments/${freshId()}/complete`, {
      token: t,
    });
    await expectError(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("POST");
    const put = await api(`/v1/deployments/${freshId()}/logs`, {
      method: "PUT",
      token: t,
    });
    expect(put.headers.get("allow")).toBe("GET, POST");
  });

  it("answers 400 invalid_cursor for a cursor ahead of the log everywhere", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "a" }, { message: "b" }]);
    const info = await (await api(`/v1/deployments/${id}`, { token: t })).json<{
      epoch: number;
    }>();
    const ahead = encodeCursor(logKey("acme", id), {
      epoch: info.epoch,
      seq: 99,
      ts: 0,
    });
    for (const path of [`logs?cursor=${ahead}`, `export?cursor=${ahead}`]) {
      await expectError(
        await api(`/v1/deployments/${id}/${path}`, { token: t }),
        400,
        "invalid_cursor",
        "cursor",
      );
    }
    const ws = await api(`/v1/deployments/${id}/stream?cursor=${ahead}`, {
      token: t,
      headers: { accept: "text/event-stream" },
    });
    await expectError(ws, 400, "invalid_cursor", "cursor");
  });
});
