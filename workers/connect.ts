/**
 * @module The ingest service over Connect and gRPC-Web
 * (schemas/proto/edgetail/v1/ingest.proto), at
 * `/edgetail.v1.IngestService/{Method}`. Workers cannot send HTTP
 * trailers, so native gRPC is not served; gRPC clients use the Connect
 * protocol or a gRPC-Web proxy (README).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  type Compression,
  createFetchHandler,
} from "@connectrpc/connect/protocol";
import { ERROR_STATUS } from "../schemas/errors";
import {
  type CompleteResponseSchema,
  IngestService,
  Level,
  type LogLine,
  type PushLogsRequest,
  Status,
  Stream,
} from "../schemas/gen/edgetail/v1/ingest_pb";
import { completeBodySchema, ingestBodySchema } from "../schemas/ingest";
import { MAX_BODY_BYTES, MAX_LINES_PER_BATCH } from "../schemas/limits";
import { bearer, verifyToken } from "./auth";
import { normalize, type ParsedIngest } from "./body";
import type { Env } from "./env";
import { ApiError, fromZod } from "./errors";
import { completeDeployment, ingestBatch, registerSecrets } from "./writes";

/** Path prefix the Worker routes here. */
export const CONNECT_PREFIX = `/${IngestService.typeName}/`;

const LEVELS: Record<Level, string | undefined> = {
  [Level.UNSPECIFIED]: undefined,
  [Level.TRACE]: "trace",
  [Level.DEBUG]: "debug",
  [Level.INFO]: "info",
  [Level.WARN]: "warn",
  [Level.ERROR]: "error",
  [Level.FATAL]: "fatal",
};
const STREAMS: Record<Stream, string | undefined> = {
  [Stream.UNSPECIFIED]: undefined,
  [Stream.STDOUT]: "stdout",
  [Stream.STDERR]: "stderr",
  [Stream.SYSTEM]: "system",
};
const STATUSES = {
  success: Status.SUCCESS,
  failed: Status.FAILED,
  canceled: Status.CANCELED,
  running: Status.UNSPECIFIED,
} as const;

/** gzip for message compression, from the runtime's CompressionStream. */
const gzip: Compression = {
  name: "gzip",
  compress: (bytes) => pipe(bytes, new CompressionStream("gzip")),
  async decompress(bytes, readMaxBytes) {
    if (bytes.byteLength === 0) return new Uint8Array(0);
    let out: Uint8Array<ArrayBuffer>;
    try {
      out = await pipe(bytes, new DecompressionStream("gzip"));
    } catch {
      throw new ConnectError("message is not valid gzip", Code.InvalidArgument);
    }
    if (out.byteLength > readMaxBytes) {
      throw new ConnectError(
        `message exceeds ${readMaxBytes} bytes after gzip decoding`,
        Code.ResourceExhausted,
      );
    }
    return out;
  },
};

async function pipe(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

let handlers: {
  env: Env;
  byPath: Map<string, (r: Request) => Promise<Response>>;
} | null = null;

/** Serves one Connect or gRPC-Web request. */
export async function serveConnect(
  request: Request,
  env: Env,
): Promise<Response> {
  if (handlers?.env !== env) {
    const router = createConnectRouter({
      grpc: false,
      grpcWeb: true,
      connect: true,
      readMaxBytes: MAX_BODY_BYTES,
      acceptCompression: [gzip],
    });
    routes(router, env);
    handlers = {
      env,
      byPath: new Map(
        router.handlers.map((h) => [h.requestPath, createFetchHandler(h)]),
      ),
    };
  }
  const handler = handlers.byPath.get(new URL(request.url).pathname);
  if (!handler) {
    throw new ApiError(
      "not_found",
      "no such method of edgetail.v1.IngestService",
    );
  }
  return handler(request);
}

function routes(router: ConnectRouter, env: Env): void {
  router.service(IngestService, {
    pushLogs: (req, ctx) =>
      guard(async () => {
        const claims = await claimsOf(ctx, env);
        const body = parsePush(req);
        const key =
          req.idempotencyKey || ctx.requestHeader.get("idempotency-key");
        const answer = await ingestBatch(
          env,
          claims,
          req.deploymentId,
          body,
          key ?? undefined,
        );
        return {
          firstSeq: BigInt(answer.first_seq),
          lastSeq: BigInt(answer.last_seq),
          cursor: answer.cursor,
          lines: answer.lines,
          replayed: answer.replayed ?? false,
        };
      }),
    addSecrets: (req, ctx) =>
      guard(async () => {
        const claims = await claimsOf(ctx, env);
        if (req.secrets.length === 0) {
          throw new ApiError(
            "invalid_field",
            "secrets: at least one",
            "secrets",
          );
        }
        const parsed = ingestBodySchema.shape.secrets.safeParse(req.secrets);
        if (!parsed.success) throw fromZod(parsed.error, "secrets");
        const count = await registerSecrets(
          env,
          claims,
          req.deploymentId,
          req.secrets,
        );
        return { secrets: count };
      }),
    complete: (req, ctx) =>
      guard(async () => {
        const claims = await claimsOf(ctx, env);
        const status = Object.entries(STATUSES).find(
          ([, v]) => v === req.status,
        )?.[0];
        const body = completeBodySchema.safeParse({
          status: req.status === Status.UNSPECIFIED ? undefined : status,
          exit_code: req.exitCode,
        });
        if (!body.success) throw fromZod(body.error);
        const d = await completeDeployment(
          env,
          claims,
          req.deploymentId,
          body.data,
        );
        const out: MessageInitShape<typeof CompleteResponseSchema> = {
          status: STATUSES[d.status],
          lastSeq: BigInt(d.last_seq),
          cursor: d.cursor,
        };
        if (d.exit_code !== undefined) out.exitCode = d.exit_code;
        return out;
      }),
  });
}

async function claimsOf(ctx: HandlerContext, env: Env) {
  return verifyToken(bearer(ctx.requestHeader.get("authorization")), env);
}

/** Validates a PushLogsRequest with the same schema as JSON bodies. */
function parsePush(req: PushLogsRequest): ParsedIngest {
  if (req.lines.length > MAX_LINES_PER_BATCH) {
    throw new ApiError(
      "too_many_lines",
      `a batch holds at most ${MAX_LINES_PER_BATCH} lines`,
      "lines",
    );
  }
  const parsed = ingestBodySchema.safeParse({
    batch: req.batch
      ? { agent: req.batch.agent, seq: Number(req.batch.seq) }
      : undefined,
    lines: req.lines.map(lineInput),
    secrets: req.secrets.length > 0 ? req.secrets : undefined,
  });
  if (!parsed.success) throw fromZod(parsed.error);
  const { lines, secrets, batch } = parsed.data;
  return { lines: normalize(lines), secrets: secrets ?? [], batch };
}

function lineInput(line: LogLine): Record<string, unknown> {
  return {
    ts: line.ts ? timestampMs(line.ts) : undefined,
    step: line.step || undefined,
    level: LEVELS[line.level],
    stream: STREAMS[line.stream],
    message: line.message,
    metadata: Object.keys(line.metadata).length > 0 ? line.metadata : undefined,
    partial: line.partial || undefined,
  };
}

/** Runs a handler, turning ApiErrors into ConnectErrors with our code. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const metadata = new Headers({ "edgetail-error-code": err.code });
    if (err.field) metadata.set("edgetail-error-field", err.field);
    for (const [k, v] of Object.entries(err.headers)) metadata.set(k, v);
    throw new ConnectError(err.message, connectCode(err.status), metadata);
  }
}

function connectCode(status: number): Code {
  switch (status) {
    case ERROR_STATUS.token_missing:
      return Code.Unauthenticated;
    case ERROR_STATUS.forbidden_scope:
      return Code.PermissionDenied;
    case ERROR_STATUS.not_found:
      return Code.NotFound;
    case ERROR_STATUS.deployment_completed:
      return Code.FailedPrecondition;
    case ERROR_STATUS.payload_too_large:
    case ERROR_STATUS.rate_limited:
    case ERROR_STATUS.too_many_secrets:
      return Code.ResourceExhausted;
    case ERROR_STATUS.upstream_unavailable:
      return Code.Unavailable;
    case ERROR_STATUS.internal:
      return Code.Internal;
    default:
      return Code.InvalidArgument;
  }
}
