/**
 * An in-process stand-in for the ingest API, for the agent's unit tests:
 * a `fetch` that decodes what the agent sends, stores lines with the
 * server's batch idempotency, and lets a test script refusals and drops.
 */
import { gunzipSync } from "node:zlib";

/** One request as the fake saw it. */
export interface Seen {
  path: string;
  headers: Headers;
  /** The body, gunzipped when it was gzip'd. */
  text: string;
  json: {
    batch?: { agent: string; seq: number };
    lines?: { message: string; partial?: true; stream?: string }[];
    secrets?: string[];
    status?: string;
  };
}

/**
 * What to do with request number `n` (from 1): answer with a Response,
 * fail on the network before (`drop`) or after storing (`lose-answer`),
 * or undefined to behave like the server.
 */
export type Script = (
  seen: Seen,
  n: number,
) => Response | "drop" | "lose-answer" | undefined | Promise<unknown>;

/** The fake's fetch and what it saw and stored. */
export interface FakeApi {
  fetch: typeof fetch;
  requests: Seen[];
  /** Lines stored, in order, as the server would number them. */
  stored: { message: string; partial?: true; stream?: string }[];
  secrets: string[];
  completed: { status?: string } | null;
}

/** A fake API; `script` may refuse or drop any request. */
export function fakeApi(script: Script = () => undefined): FakeApi {
  const api: FakeApi = {
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const headers = new Headers(init?.headers);
      const raw = init?.body;
      const bytes =
        typeof raw === "string"
          ? Buffer.from(raw)
          : Buffer.from(raw as Uint8Array);
      const text =
        headers.get("content-encoding") === "gzip"
          ? gunzipSync(bytes).toString("utf8")
          : bytes.toString("utf8");
      const seen: Seen = {
        path: url.pathname,
        headers,
        text,
        json: text ? JSON.parse(text) : {},
      };
      api.requests.push(seen);
      let action = await script(seen, api.requests.length);
      if (action instanceof Promise) action = await action;
      if (action instanceof Response) return action;
      if (action === "drop") throw new TypeError("fetch failed");
      const answer = serve(api, seen, batches);
      if (action === "lose-answer") throw new TypeError("fetch failed");
      return answer;
    },
    requests: [],
    stored: [],
    secrets: [],
    completed: null,
  };
  const batches = new Map<string, unknown>();
  return api;
}

function serve(api: FakeApi, seen: Seen, batches: Map<string, unknown>) {
  const { json } = seen;
  if (seen.path.endsWith("/secrets")) {
    api.secrets.push(...(json.secrets ?? []));
    return Response.json({ secrets: api.secrets.length });
  }
  if (seen.path.endsWith("/complete")) {
    api.completed = { status: json.status };
    return Response.json({ status: json.status });
  }
  const key = json.batch ? `${json.batch.agent}:${json.batch.seq}` : "";
  const earlier = batches.get(key);
  if (earlier) return Response.json({ ...earlier, replayed: true });
  api.secrets.push(...(json.secrets ?? []));
  const first = api.stored.length + 1;
  api.stored.push(...(json.lines ?? []));
  const answer = {
    first_seq: first,
    last_seq: api.stored.length,
    cursor: `c${api.stored.length}`,
    lines: json.lines?.length ?? 0,
  };
  if (key) batches.set(key, answer);
  return Response.json(answer, { status: 201 });
}

/** An edgetail error answer. */
export function apiError(
  status: number,
  code: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    { error: { code, message: `${code} (fake)`, request_id: "r-1" } },
    { status, headers },
  );
}

/** A promise with its resolve function outside. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** True once `promise` settled within `ms`. */
export async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}
