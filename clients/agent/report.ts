/**
 * @module What the agent delivered and what it could not: the ledger kept
 * while it runs, and the report close() returns.
 */
import type { IngestAnswer } from "../../schemas/ingest";
import { messageOf } from "./batch";
import type { AgentError, ReportedError } from "./errors";
import type { Discarded, Entry } from "./queue";

/** How a deployment ended, as `POST .../complete` takes it. */
export type CompleteStatus = "success" | "failed" | "canceled";

/** Lines the agent could not get stored. */
export interface Undelivered {
  count: number;
  /** Messages of the first and last of them. */
  first?: string;
  last?: string;
}

/** What close() resolves with. */
export interface CloseReport {
  /** Lines the server stored (a replayed batch counts: it was stored). */
  delivered: number;
  /**
   * Lines not stored: their batch was refused, ran out of retries, or was
   * still waiting when close() timed out. A batch whose answer was lost
   * may in fact have been stored.
   */
  undelivered: Undelivered;
  /**
   * null when no completion was asked; else whether the server took it.
   * Never true when lines were lost: the agent then does not complete.
   */
  completed: boolean | null;
  /**
   * Set when a batch was given up (refused, out of retries, or still
   * unsent when close() timed out): the agent sent nothing after it, so
   * the stored log is a complete prefix ending at `lastSeq`, and every
   * later line is in `undelivered`. The error that stopped it.
   */
  stopped?: ReportedError;
  /** Errors that cost lines, secrets or the completion (the first 20). */
  errors: ReportedError[];
  /** Seq and cursor of the last line stored, 0 and undefined if none. */
  lastSeq: number;
  cursor?: string;
}

const KEPT_ERRORS = 20;

/** What an agent delivered and lost so far; close() reports it. */
export class Ledger {
  delivered = 0;
  lastSeq = 0;
  cursor: string | undefined;
  completed: boolean | null = null;
  stopped: ReportedError | undefined;
  readonly lost: Undelivered = { count: 0 };
  private readonly errors: ReportedError[] = [];

  deliver(lines: number, answer: IngestAnswer): void {
    this.delivered += lines;
    if (answer.last_seq >= this.lastSeq) {
      this.lastSeq = answer.last_seq;
      this.cursor = answer.cursor;
    }
  }

  lose(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.lost.count += entries.length;
    this.lost.first ??= messageOf(entries[0]?.json);
    this.lost.last = messageOf(entries.at(-1)?.json);
  }

  loseDiscarded(d: Discarded): void {
    if (d.count === 0) return;
    this.lost.count += d.count;
    this.lost.first ??= messageOf(d.first);
    this.lost.last = messageOf(d.last);
  }

  error(error: AgentError): void {
    if (this.errors.length < KEPT_ERRORS) this.errors.push(error.toJSON());
  }

  report(): CloseReport {
    const out: CloseReport = {
      delivered: this.delivered,
      undelivered: { ...this.lost },
      completed: this.completed,
      errors: [...this.errors],
      lastSeq: this.lastSeq,
    };
    if (this.cursor !== undefined) out.cursor = this.cursor;
    if (this.stopped) out.stopped = { ...this.stopped };
    return out;
  }
}

/**
 * A few human lines about a report's problems (none when all went
 * well): what was lost, the distinct errors, a failed completion.
 */
export function describeProblems(
  report: CloseReport,
  describe: (error: ReportedError) => string = plainError,
): string[] {
  const out: string[] = [];
  const lost = report.undelivered;
  if (lost.count > 0) {
    out.push(
      `${lost.count} line${lost.count === 1 ? "" : "s"} not delivered ` +
        `(first: ${quote(lost.first)}, last: ${quote(lost.last)}); ` +
        (report.lastSeq > 0
          ? `the stored log ends at seq ${report.lastSeq}, without gaps`
          : "nothing was stored"),
    );
  }
  if (
    report.completed === false &&
    !report.errors.some((e) => e.code === "not_completed")
  ) {
    out.push("the deployment was not completed");
  }
  const seen = new Set<string>();
  for (const e of report.errors) {
    const text = describe(e);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push(text);
  }
  return out;
}

function plainError(e: ReportedError): string {
  const text = `${e.code}: ${e.message}`;
  return e.status ? `HTTP ${e.status} ${text}` : text;
}

function quote(message: string | undefined): string {
  if (message === undefined) return "-";
  const short = message.length > 60 ? `${message.slice(0, 57)}...` : message;
  return JSON.stringify(short);
}
