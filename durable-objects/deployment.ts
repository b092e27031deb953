/**
 * @module The Deployment Durable Object: one per tenant and deployment.
 * It assigns every line a gap-free seq, redacts it, keeps the hot tail in
 * SQLite, fans lines out to viewers, seals immutable chunks to R2 and
 * sends accepted lines to the Queue for ClickHouse.
 */
import { DurableObject } from "cloudflare:workers";
import { encodeCursor, logKey } from "../schemas/cursor";
import type { IngestAnswer } from "../schemas/ingest";
import { MAX_SECRETS_PER_DEPLOYMENT } from "../schemas/limits";
import type { StoredLine } from "../schemas/line";
import type { EndMessage } from "../schemas/stream";
import { toWireLine } from "../schemas/wire";
import { readChunk } from "./chunks";
import { type DeploymentConfig, readConfig } from "./config";
import { Fanout } from "./fanout";
import { errorMessage, log } from "./log";
import { deleteChunks, Maintenance, nextAlarm } from "./maintenance";
import { Redactor } from "./redaction/redactor";
import { fail, sequence, takeTokens } from "./sequencer";
import { type DeploymentState, Store } from "./storage";
import { openStream } from "./stream";
import type {
  CompleteCall,
  DeploymentEnv,
  Description,
  Failure,
  IngestCall,
  IngestResult,
  LogRef,
  Result,
} from "./types";
import { SocketViewer, type ViewerAttachment } from "./viewers";
import { advance, type Range } from "./watermark";

export class Deployment extends DurableObject<DeploymentEnv> {
  readonly config: DeploymentConfig;
  readonly store: Store;
  readonly fanout: Fanout;
  private readonly maintenance: Maintenance;
  state: DeploymentState | null = null;
  private redactor = new Redactor();
  private key = 0n;
  private readonly sockets = new WeakMap<WebSocket, SocketViewer>();
  private chunkCache: { key: string; lines: StoredLine[] } | null = null;
  private working = false;
  private lastHeartbeat = 0;

  constructor(ctx: DurableObjectState, env: DeploymentEnv) {
    super(ctx, env);
    this.config = readConfig(env);
    this.store = new Store(ctx.storage.sql);
    this.maintenance = new Maintenance(
      ctx.storage,
      this.store,
      env,
      this.config,
    );
    this.fanout = new Fanout(
      {
        read: (after, limit) => this.read(after, limit),
        lastSeq: () => this.state?.last_seq ?? 0,
        wire: (lines) => lines.map((l) => this.wire(l)),
        ended: () => this.endMessage(),
        sockets: () => this.socketViewers(),
      },
      this.config.viewerWindowBytes,
    );
    void ctx.blockConcurrencyWhile(async () => {
      this.store.migrate();
      this.load(this.store.loadState());
    });
  }

  /** Redacts, sequences and stores a batch of lines. */
  async ingest(call: IngestCall): Promise<IngestResult> {
    const state = this.ensure(call);
    if (call.idempotencyKey) {
      const earlier = this.store.getBatch(call.idempotencyKey);
      if (earlier) return replay(earlier, call.fingerprint);
    }
    if (state.status !== "running") {
      return fail("deployment_completed", `deployment already ${state.status}`);
    }
    const limited = takeTokens(
      state,
      call.lines.length,
      this.config,
      Date.now(),
    );
    if (limited) return limited;
    const secretsFailure = this.registerSecrets(call.secrets);
    if (secretsFailure) return secretsFailure;

    const now = Date.now();
    const stored = sequence(state.last_seq, call.lines, this.redactor, now);
    const last = stored.at(-1) as StoredLine;
    const answer = {
      first_seq: stored[0]?.seq ?? last.seq,
      last_seq: last.seq,
      cursor: this.cursor(last.seq, last.ts),
      lines: stored.length,
    };
    this.ctx.storage.transactionSync(() => {
      this.store.insertLines(stored);
      state.last_seq = last.seq;
      state.last_ts = last.ts;
      state.last_line_at = now;
      state.last_partial = last.partial;
      state.redactor = this.redactor.state();
      this.store.saveState(state);
      if (call.idempotencyKey) {
        const record = { answer, fingerprint: call.fingerprint };
        this.store.putBatch(call.idempotencyKey, JSON.stringify(record));
      }
    });
    this.fanout.publish(stored);
    await this.ctx.storage.setAlarm(now);
    return { ok: true, answer };
  }

  /** Registers secrets to mask in every later line (GitHub's add-mask). */
  async addSecrets(
    call: LogRef & { secrets: string[] },
  ): Promise<Result<{ count: number }>> {
    this.ensure(call);
    const failure = this.registerSecrets(call.secrets);
    return failure ?? { ok: true, count: this.store.countSecrets() };
  }

  /** Ends the stream; live viewers get an `end` message. */
  async complete(call: CompleteCall): Promise<Result<Description>> {
    const state = this.ensure(call);
    if (state.status === "running") {
      state.status = call.status;
      if (call.exit_code !== undefined) state.exit_code = call.exit_code;
      state.completed_at = Date.now();
      this.store.saveState(state);
      const end = this.endMessage();
      if (end) this.fanout.end(end);
      await this.ctx.storage.setAlarm(Date.now());
    }
    return { ok: true, ...this.describeState(state) };
  }

  /** Where the log stands; null if nothing was ever written or watched. */
  async describe(): Promise<Description | null> {
    return this.state ? this.describeState(this.state) : null;
  }

  /** The Queue consumer reports seq ranges it loaded into ClickHouse. */
  async markLoaded(epoch: number, ranges: Range[]): Promise<number> {
    const state = this.state;
    if (!state || state.epoch !== epoch) return 0;
    const next = advance(
      state.loaded_upto ?? 0,
      state.loaded_pending ?? [],
      ranges,
    );
    const upto = Math.min(next.upto, state.last_seq);
    if (upto > (state.loaded_upto ?? 0)) state.load_progress_at = Date.now();
    state.loaded_upto = upto;
    state.loaded_pending = next.pending;
    this.store.saveState(state);
    return state.loaded_upto;
  }

  /** Lines with seq > after, ascending, wherever they rest. */
  async read(after: number, limit: number): Promise<StoredLine[]> {
    const state = this.state;
    if (!state || after >= state.last_seq) return [];
    if (after >= state.pruned_upto) return this.store.readLines(after, limit);
    const chunk = this.store.chunkFor(after + 1);
    const lines = chunk ? await this.loadChunk(chunk.key) : null;
    if (!lines) {
      log("error", "deployment.chunk_missing", { after, key: chunk?.key });
      return this.store.readLines(state.pruned_upto, limit);
    }
    return lines.filter((l) => l.seq > after).slice(0, limit);
  }

  /** Live tail over WebSocket or SSE; the Worker checked auth already. */
  override async fetch(request: Request): Promise<Response> {
    return openStream(this, request);
  }

  override async webSocketMessage(
    ws: WebSocket,
    message: string | ArrayBuffer,
  ): Promise<void> {
    if (typeof message !== "string") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const msg = parsed as { type?: unknown; received?: unknown };
    const viewer = this.viewerFor(ws);
    if (msg.type === "ack" && typeof msg.received === "number") {
      viewer.ack(msg.received);
    } else if (msg.type === "ping") {
      ws.send(JSON.stringify({ type: "pong" }));
    }
  }

  override async webSocketClose(
    ws: WebSocket,
    code: number,
    reason: string,
  ): Promise<void> {
    this.viewerFor(ws).closed = true;
    // Answer the close handshake; 1005/1006 may not be sent on the wire.
    const reply = code === 1005 || code === 1006 ? 1000 : code;
    try {
      ws.close(reply, reason);
    } catch {
      // Already closed.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.viewerFor(ws).closed = true;
  }

  /** Background work: outbox, sealing, pruning, heartbeats, retention. */
  override async alarm(): Promise<void> {
    const state = this.state;
    if (!state || this.working) return;
    const now = Date.now();
    if (now >= state.created_at + this.config.retentionMs) {
      await this.purge(state);
      return;
    }
    this.working = true;
    let retry = false;
    try {
      this.maintenance.requeueStalled(state, now);
      await this.maintenance.flushOutbox(state);
      await this.maintenance.seal(state, now);
      this.maintenance.prune(state);
    } catch (err) {
      retry = true;
      log("warn", "deployment.background_failed", {
        deployment: state.deployment,
        error: errorMessage(err),
      });
    } finally {
      this.working = false;
    }
    this.heartbeat(state, now);
    await this.schedule(state, retry);
  }

  /** Accepts a WebSocket with the hibernation API. */
  accept(ws: WebSocket): void {
    this.ctx.acceptWebSocket(ws);
  }

  /** Makes sure the alarm runs soon enough to heartbeat new viewers. */
  async wake(): Promise<void> {
    const state = this.state;
    if (state) await this.schedule(state, false);
  }

  /** A viewer, recreated from its attachment after hibernation. */
  viewerFor(ws: WebSocket, fresh?: ViewerAttachment): SocketViewer {
    let viewer = this.sockets.get(ws);
    if (!viewer) {
      const state =
        fresh ?? (ws.deserializeAttachment() as ViewerAttachment | null);
      viewer = new SocketViewer(
        ws,
        state ?? Fanout.attachment({ sent: 0, cursor: this.cursor(0, 0) }),
        this.config.viewerWindowBytes,
      );
      this.sockets.set(ws, viewer);
    }
    return viewer;
  }

  /** State for this log, created (with a fresh epoch) on first use. */
  ensure(ref: LogRef): DeploymentState {
    if (this.state) return this.state;
    const now = Date.now();
    const state: DeploymentState = {
      tenant: ref.tenant,
      deployment: ref.deployment,
      epoch: crypto.getRandomValues(new Uint32Array(1))[0] || 1,
      created_at: now,
      status: "running",
      last_seq: 0,
      last_ts: 0,
      last_line_at: now,
      enqueued_upto: 0,
      sealed_upto: 0,
      pruned_upto: 0,
      redactor: { pemOpen: [] },
      rate_tokens: this.config.rateBurstLines,
      rate_at: now,
    };
    this.store.saveState(state);
    this.load(state);
    void this.ctx.storage.setAlarm(state.created_at + this.config.retentionMs);
    return state;
  }

  /** The cursor of position `seq` (written at `ts`) in this log. */
  cursor(seq: number, ts: number): string {
    return encodeCursor(this.key, { epoch: this.state?.epoch ?? 0, seq, ts });
  }

  endMessage(): EndMessage | null {
    const s = this.state;
    if (!s || s.status === "running") return null;
    const end: EndMessage = {
      type: "end",
      status: s.status,
      cursor: this.cursor(s.last_seq, s.last_ts),
      last_seq: s.last_seq,
    };
    if (s.exit_code !== undefined) end.exit_code = s.exit_code;
    return end;
  }

  private load(state: DeploymentState | null): void {
    this.state = state;
    if (!state) return;
    this.key = logKey(state.tenant, state.deployment);
    this.redactor = new Redactor(this.store.secrets(), state.redactor);
  }

  private wire(line: StoredLine) {
    return toWireLine(line, this.key, this.state?.epoch ?? 0);
  }

  private socketViewers(): SocketViewer[] {
    return this.ctx.getWebSockets().map((ws) => this.viewerFor(ws));
  }

  private describeState(s: DeploymentState): Description {
    const d: Description = {
      tenant: s.tenant,
      deployment: s.deployment,
      epoch: s.epoch,
      status: s.status,
      created_at: new Date(s.created_at).toISOString(),
      last_seq: s.last_seq,
      cursor: this.cursor(s.last_seq, s.last_ts),
      loaded_upto: s.loaded_upto ?? 0,
      viewers: this.fanout.count(),
    };
    if (s.exit_code !== undefined) d.exit_code = s.exit_code;
    if (s.completed_at) d.completed_at = new Date(s.completed_at).toISOString();
    return d;
  }

  private registerSecrets(secrets: string[]): Failure | null {
    if (secrets.length === 0) return null;
    const fresh = new Set(secrets);
    if (this.store.countSecrets() + fresh.size > MAX_SECRETS_PER_DEPLOYMENT) {
      const known = new Set(this.store.secrets());
      const added = [...fresh].filter((s) => !known.has(s)).length;
      if (known.size + added > MAX_SECRETS_PER_DEPLOYMENT) {
        return fail(
          "too_many_secrets",
          `a deployment holds at most ${MAX_SECRETS_PER_DEPLOYMENT} secrets`,
        );
      }
    }
    this.store.addSecrets([...fresh]);
    this.redactor.add(fresh);
    return null;
  }

  private async loadChunk(key: string): Promise<StoredLine[] | null> {
    if (this.chunkCache?.key === key) return this.chunkCache.lines;
    const lines = await readChunk(this.env.LOG_CHUNKS, key);
    if (lines) this.chunkCache = { key, lines };
    return lines;
  }

  private heartbeat(state: DeploymentState, now: number): void {
    if (state.status !== "running") return;
    if (now - this.lastHeartbeat < this.config.heartbeatMs - 50) return;
    this.lastHeartbeat = now;
    this.fanout.heartbeat({
      type: "heartbeat",
      cursor: this.cursor(state.last_seq, state.last_ts),
      last_seq: state.last_seq,
      server_time: new Date(now).toISOString(),
    });
  }

  private async schedule(state: DeploymentState, retry: boolean) {
    const at = nextAlarm(state, this.config, {
      retry,
      viewers: this.fanout.count(),
      lastHeartbeat: this.lastHeartbeat,
    });
    await this.ctx.storage.setAlarm(at);
  }

  /** Retention: the log, its chunks and its viewers go; a new epoch follows. */
  private async purge(state: DeploymentState): Promise<void> {
    await deleteChunks(this.env.LOG_CHUNKS, state);
    for (const viewer of this.socketViewers()) viewer.close(1001, "expired");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store.migrate();
    this.state = null;
    this.chunkCache = null;
    log("info", "deployment.purged", { deployment: state.deployment });
  }
}

/** The answer to a retried batch, unless its key came with new data. */
function replay(record: string, fingerprint?: string): IngestResult {
  const earlier = JSON.parse(record) as {
    answer: IngestAnswer;
    fingerprint?: string;
  };
  if (
    fingerprint &&
    earlier.fingerprint &&
    fingerprint !== earlier.fingerprint
  ) {
    return fail(
      "idempotency_conflict",
      "this Idempotency-Key (or batch) was used before with other lines",
    );
  }
  return { ok: true, answer: { ...earlier.answer, replayed: true } };
}
