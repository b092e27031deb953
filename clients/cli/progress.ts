/**
 * @module Progress bars on stderr (cli-progress), only when stderr is a
 * terminal: piped or in CI, the CLI prints nothing but its result.
 */
import cliProgress from "cli-progress";

/** A bar, or nothing at all when it would not be seen. */
export interface Progress {
  /** Sets the value (and the total when it is known late). */
  update(value: number, total?: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

/**
 * A bar counting `unit` up to `total` (unknown: 0). `enabled: false`, or
 * stderr not being a TTY, gives a silent one.
 */
export function progress(
  label: string,
  unit: "bytes" | "lines",
  total: number,
  enabled = true,
): Progress {
  if (!enabled || !process.stderr.isTTY) return SILENT;
  const shown =
    unit === "bytes" ? "{value_h}B/{total_h}B" : "{value}/{total} lines";
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | ${total > 0 ? shown : "{value_h}B so far"}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { value_h: human(0), total_h: human(total) });
  return {
    update(value, newTotal) {
      if (newTotal !== undefined) bar.setTotal(newTotal);
      bar.update(value, {
        value_h: human(value),
        total_h: human(newTotal ?? total),
      });
    },
    stop() {
      bar.stop();
    },
  };
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)}Ki`;
  return `${(bytes / 1024 / 1024).toFixed(1)}Mi`;
}
