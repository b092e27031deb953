import { describe, expect, it } from "vitest";
import { readConfig } from "../../durable-objects/config";

describe("Deployment object config", () => {
  it("uses the documented defaults", () => {
    expect(readConfig({})).toEqual({
      hotTailLines: 20_000,
      chunkLines: 5_000,
      sealIdleMs: 600_000,
      rateLinesPerSecond: 50_000,
      rateBurstLines: 200_000,
      heartbeatMs: 15_000,
      viewerWindowBytes: 8 * 1024 * 1024,
      retentionMs: 30 * 86_400_000,
      reloadAfterMs: 120_000,
    });
  });

  it("names the variable and the fix for a bad value", () => {
    expect(() => readConfig({ HOT_TAIL_LINES: "lots" })).toThrow(
      /HOT_TAIL_LINES=lots is not a positive number; set it in wrangler.toml/,
    );
    expect(readConfig({ RETENTION_DAYS: "7" }).retentionMs).toBe(
      7 * 86_400_000,
    );
  });
});
