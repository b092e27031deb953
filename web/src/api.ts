/**
 * @module The HTTP side of the API, as the page uses it: describe, history
 * pages and the export download. Fetches carry the token in the
 * `Authorization` header, never in the URL.
 */
import type { HistoryPage } from "../../schemas/history";
import type { WireLine } from "../../schemas/line";

/** `GET /v1/deployments/{id}`. */
export interface Description {
  deployment: string;
  status: string;
  created_at: string;
  last_seq: number;
  cursor: string;
  exit_code?: number;
  completed_at?: string;
}

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Whether an API error will not go away by retrying: a 4xx other than
 * 429 (bad id, refused, not found).
 */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    err.status >= 400 &&
    err.status < 500 &&
    err.status !== 429
  );
}

/** History filters, as the API names them. */
export interface HistoryQuery {
  from_seq?: number;
  cursor?: string;
  limit?: number;
  direction?: "forward" | "backward";
  level?: string;
  step?: string;
  q?: string;
}

/** A client of one deployment's read API. */
export class Api {
  constructor(
    readonly deployment: string,
    private readonly token: () => string | null,
  ) {}

  private get base(): string {
    return `/v1/deployments/${encodeURIComponent(this.deployment)}`;
  }

  /** Status and last seq; null for a deployment never written. */
  async describe(): Promise<Description | null> {
    try {
      return await this.json<Description>(this.base);
    } catch (err) {
      if (err instanceof ApiError && err.code === "deployment_not_found") {
        return null;
      }
      throw err;
    }
  }

  /** One history page. */
  history(query: HistoryQuery, signal?: AbortSignal): Promise<HistoryPage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== "") params.set(k, String(v));
    }
    return this.json<HistoryPage>(`${this.base}/logs?${params}`, signal);
  }

  /** The whole log as a Blob (the token stays out of the URL). */
  async exportBlob(): Promise<Blob> {
    const res = await fetch(`${this.base}/export`, {
      headers: this.headers(),
    });
    if (!res.ok) throw await errorOf(res);
    return res.blob();
  }

  /** The WebSocket URL of the live tail; the token must ride in the query. */
  streamUrl(position: { cursor?: string; tail?: number }): string {
    const url = new URL(`${this.base}/stream`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", this.token() ?? "");
    if (position.cursor) url.searchParams.set("cursor", position.cursor);
    else if (position.tail !== undefined) {
      url.searchParams.set("tail", String(position.tail));
    }
    return url.toString();
  }

  private headers(): HeadersInit {
    const token = this.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = { headers: this.headers() };
    if (signal) init.signal = signal;
    const res = await fetch(path, init);
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string };
    };
    return new ApiError(
      res.status,
      body.error?.code ?? "http_error",
      body.error?.message ?? res.statusText,
    );
  } catch {
    return new ApiError(res.status, "http_error", res.statusText);
  }
}

export type { HistoryPage, WireLine };
