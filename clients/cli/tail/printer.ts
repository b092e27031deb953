/**
 * @module How `tail` prints: lines arrive in seq order from history pages,
 * the export or the stream; duplicates are dropped by seq, the parts of a
 * split line are joined, filters apply to the whole line, and ANSI
 * escapes are stripped unless colours are on. It also keeps the two
 * positions `tail` needs: where to reconnect (the last line received) and
 * where a later run may resume (the last line fully handled).
 */
import stripAnsi from "strip-ansi";
import type { Level, WireLine } from "../../../schemas/line";

/**
 * Control strings no terminal shows: APC (`ESC _`, e.g. Buildkite's
 * `ESC _bk;t=...BEL` time stamps), PM (`ESC ^`) and SOS (`ESC X`), in
 * 7-bit and 8-bit form, ended by BEL or ST (`ESC \`).
 */
const ESC = "\u001b";
const BEL = "\u0007";
const ST = "\u009c";
/** Up to the terminator (BEL, ESC \ or 8-bit ST), or the text's end. */
const BODY = `[^${BEL}${ESC}${ST}]*(?:${BEL}|${ESC}\\\\|${ST})?`;
const HIDDEN = new RegExp(`(?:${ESC}[_^X]|[\u009e\u009f\u0098])${BODY}`, "g");
/** OSC (`ESC ]`: titles, hyperlinks, ...), ended by BEL or ST. */
const OSC = new RegExp(`(?:${ESC}\\]|\u009d)${BODY}`, "g");

/**
 * The text to print: without APC/PM/SOS strings ever, and with colours
 * off also without OSC strings and the remaining ANSI escapes.
 */
export function cleanText(message: string, color: boolean): string {
  const shown = message.replace(HIDDEN, "");
  return color ? shown : stripAnsi(shown.replace(OSC, ""));
}

/** What to print and how. */
export interface PrinterOptions {
  json: boolean;
  /** Keep ANSI escapes (a terminal); else strip them. */
  color: boolean;
  timestamps: boolean;
  levels?: Level[];
  step?: string;
  /** Case-insensitive substring of the text without ANSI escapes. */
  grep?: string;
  /** Writes output; resolves when the output can take more. */
  write: (text: string) => Promise<void>;
}

/** Prints a deployment's lines, in seq order, each once. */
export class Printer {
  /** Seq and cursor of the last line received. */
  receivedSeq = 0;
  receivedCursor: string | undefined;
  /**
   * Cursor after the last line printed or filtered out, never inside a
   * line whose parts are still coming: where a new `tail` resumes.
   */
  doneCursor: string | undefined;
  /** Lines printed. */
  printed = 0;
  /** Set by Ctrl-C: print nothing more. */
  stopped = false;
  private held: WireLine[] = [];
  private readonly grep: string | undefined;

  constructor(private readonly opts: PrinterOptions) {
    this.grep = opts.grep?.toLowerCase();
  }

  /** True when a filter is set (pages are then filtered by the server). */
  get filtered(): boolean {
    return (
      this.opts.levels !== undefined ||
      this.opts.step !== undefined ||
      this.opts.grep !== undefined
    );
  }

  /** Takes the next line; prints it once it is whole. */
  async accept(line: WireLine): Promise<void> {
    if (this.stopped || line.seq <= this.receivedSeq) return;
    const prev = this.held.at(-1);
    // Parts are consecutive; anything else ends what was held.
    if (prev && line.seq !== prev.seq + 1) await this.flush();
    this.receivedSeq = line.seq;
    this.receivedCursor = line.cursor;
    this.held.push(line);
    if (!line.partial) await this.emit(this.takeHeld(), false);
  }

  /** Prints held parts as they are (the log ends inside a line). */
  async flush(): Promise<void> {
    if (this.held.length > 0) await this.emit(this.takeHeld(), true);
  }

  /**
   * Moves both positions to a line handled elsewhere (a history page
   * filtered by the server has handled everything up to it).
   */
  skipTo(seq: number, cursor: string): void {
    if (seq <= this.receivedSeq) return;
    this.receivedSeq = seq;
    this.receivedCursor = cursor;
    if (this.held.length === 0) this.doneCursor = cursor;
  }

  /** The log was re-created: its lines start again from seq 1. */
  reset(): void {
    this.receivedSeq = 0;
    this.receivedCursor = undefined;
    this.doneCursor = undefined;
    this.held = [];
  }

  private takeHeld(): WireLine[] {
    const parts = this.held;
    this.held = [];
    return parts;
  }

  private async emit(parts: WireLine[], unfinished: boolean): Promise<void> {
    const first = parts[0];
    const last = parts.at(-1);
    if (!first || !last || this.stopped) return;
    const message = parts.map((p) => p.message).join("");
    if (this.matches(first, message)) {
      await this.opts.write(this.format(parts, message, unfinished));
      this.printed += 1;
    }
    this.doneCursor = last.cursor;
  }

  private matches(line: WireLine, message: string): boolean {
    const { levels, step } = this.opts;
    if (levels && !levels.includes(line.level)) return false;
    if (step !== undefined && line.step !== step) return false;
    if (this.grep !== undefined) {
      return cleanText(message, false).toLowerCase().includes(this.grep);
    }
    return true;
  }

  private format(
    parts: WireLine[],
    message: string,
    unfinished: boolean,
  ): string {
    const first = parts[0] as WireLine;
    const last = parts.at(-1) as WireLine;
    if (this.opts.json) {
      const { partial: _, ...rest } = first;
      const joined: WireLine = {
        ...rest,
        message,
        seq: last.seq,
        cursor: last.cursor,
        redaction_state: parts.some((p) => p.redaction_state === "redacted")
          ? "redacted"
          : "clean",
      };
      if (unfinished) joined.partial = true;
      return `${JSON.stringify(joined)}\n`;
    }
    const text = cleanText(message, this.opts.color);
    return this.opts.timestamps ? `${first.ts} ${text}\n` : `${text}\n`;
  }
}
