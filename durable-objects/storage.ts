/**
 * @module The Deployment object's SQLite schema and every query it runs.
 * Migrations are idempotent and run under blockConcurrencyWhile.
 */
import type { Level, Metadata, StoredLine, Stream } from "../schemas/line";
import type { RedactorState } from "./redaction/redactor";
import type { Range } from "./watermark";

const SCHEMA_VERSION = 1;

const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (
       key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS lines (
       seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
       received_at INTEGER NOT NULL, step TEXT NOT NULL,
       level TEXT NOT NULL, stream TEXT NOT NULL, message TEXT NOT NULL,
       metadata TEXT NOT NULL, redaction_state TEXT NOT NULL,
       partial INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS batches (
       key TEXT PRIMARY KEY, answer TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS secrets (value TEXT PRIMARY KEY)`,
    `CREATE TABLE IF NOT EXISTS chunks (
       first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,
       key TEXT NOT NULL, bytes INTEGER NOT NULL)`,
  ],
];

/** Where a deployment's log stands. Stored as one JSON row. */
export interface DeploymentState {
  tenant: string;
  deployment: string;
  /** Changes when the log is re-created after retention wiped it. */
  epoch: number;
  created_at: number;
  status: "running" | "success" | "failed" | "canceled";
  exit_code?: number;
  completed_at?: number;
  last_seq: number;
  last_ts: number;
  last_line_at: number;
  /** The last line is partial: it waits for its continuation to be sent. */
  last_partial?: boolean;
  /** Lines up to here were sent to the Queue. */
  enqueued_upto: number;
  /** Lines up to here are all in ClickHouse (see watermark.ts). */
  loaded_upto?: number;
  /** Ranges loaded above loaded_upto, waiting for the gap below. */
  loaded_pending?: Range[];
  /** When loaded_upto last moved (or lines were last re-sent). */
  load_progress_at?: number;
  /** Lines up to here are in sealed R2 chunks. */
  sealed_upto: number;
  /** Lines up to here were deleted from SQLite (served from R2). */
  pruned_upto: number;
  redactor: RedactorState;
  /** Token bucket of the ingest rate limit. */
  rate_tokens: number;
  rate_at: number;
}

type Row = Record<string, SqlStorageValue>;

/** Typed access to the object's SQLite database. */
export class Store {
  constructor(private readonly sql: SqlStorage) {}

  /** Brings the schema to SCHEMA_VERSION; safe to run on every start. */
  migrate(): void {
    this.sql.exec(MIGRATIONS[0]?.[0] ?? "");
    const version = Number(this.getMeta("schema_version") ?? 0);
    for (let v = version; v < SCHEMA_VERSION; v++) {
      for (const statement of MIGRATIONS[v] ?? []) this.sql.exec(statement);
    }
    this.setMeta("schema_version", String(SCHEMA_VERSION));
  }

  loadState(): DeploymentState | null {
    const raw = this.getMeta("state");
    return raw === null ? null : (JSON.parse(raw) as DeploymentState);
  }

  saveState(state: DeploymentState): void {
    this.setMeta("state", JSON.stringify(state));
  }

  insertLines(lines: StoredLine[]): void {
    for (const l of lines) {
      this.sql.exec(
        `INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        l.seq,
        l.ts,
        l.received_at,
        l.step,
        l.level,
        l.stream,
        l.message,
        JSON.stringify(l.metadata),
        l.redaction_state,
        l.partial ? 1 : 0,
      );
    }
  }

  /** Lines with seq in (after, upto], at most `limit`, ascending. */
  readLines(after: number, limit: number, upto = Infinity): StoredLine[] {
    const cursor = this.sql.exec(
      `SELECT * FROM lines WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
      after,
      Number.isFinite(upto) ? upto : Number.MAX_SAFE_INTEGER,
      limit,
    );
    return cursor.toArray().map(rowToLine);
  }

  deleteLinesUpTo(seq: number): void {
    this.sql.exec(`DELETE FROM lines WHERE seq <= ?`, seq);
  }

  getBatch(key: string): string | null {
    const row = this.sql
      .exec(`SELECT answer FROM batches WHERE key = ?`, key)
      .toArray()[0];
    return row ? String(row.answer) : null;
  }

  putBatch(key: string, answer: string): void {
    this.sql.exec(`INSERT INTO batches VALUES (?, ?)`, key, answer);
  }

  secrets(): string[] {
    return this.sql
      .exec(`SELECT value FROM secrets`)
      .toArray()
      .map((r) => String(r.value));
  }

  /** Adds secrets; returns how many the deployment holds now. */
  addSecrets(values: string[]): number {
    for (const v of values) {
      this.sql.exec(`INSERT OR IGNORE INTO secrets VALUES (?)`, v);
    }
    return this.countSecrets();
  }

  countSecrets(): number {
    const row = this.sql.exec(`SELECT count(*) AS n FROM secrets`).one();
    return Number(row.n);
  }

  addChunk(first: number, last: number, key: string, bytes: number): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?)`,
      first,
      last,
      key,
      bytes,
    );
  }

  /** The sealed chunk that holds `seq`, if any. */
  chunkFor(seq: number): { first: number; last: number; key: string } | null {
    const row = this.sql
      .exec(
        `SELECT * FROM chunks WHERE first_seq <= ? AND last_seq >= ?`,
        seq,
        seq,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      first: Number(row.first_seq),
      last: Number(row.last_seq),
      key: String(row.key),
    };
  }

  chunkKeys(): string[] {
    return this.sql
      .exec(`SELECT key FROM chunks ORDER BY first_seq`)
      .toArray()
      .map((r) => String(r.key));
  }

  private getMeta(key: string): string | null {
    const row = this.sql
      .exec(`SELECT value FROM meta WHERE key = ?`, key)
      .toArray()[0];
    return row ? String(row.value) : null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(
      `INSERT INTO meta VALUES (?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      key,
      value,
    );
  }
}

function rowToLine(row: Row): StoredLine {
  return {
    seq: Number(row.seq),
    ts: Number(row.ts),
    received_at: Number(row.received_at),
    step: String(row.step),
    level: String(row.level) as Level,
    stream: String(row.stream) as Stream,
    message: String(row.message),
    metadata: JSON.parse(String(row.metadata)) as Metadata,
    redaction_state: row.redaction_state === "redacted" ? "redacted" : "clean",
    partial: row.partial === 1,
  };
}
