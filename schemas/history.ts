/**
 * @module `GET /v1/deployments/{id}/logs`: history pages.
 */
import { z } from "zod";
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_STEP_LENGTH } from "./limits";
import type { WireLine } from "./line";
import { levelSchema } from "./line";

/** A decimal integer as query text: no `1e3`, `0x10` or blanks. */
const digits = z.string().regex(/^\d{1,16}$/, "must be a decimal integer");

export const historyQuerySchema = z.object({
  cursor: z.string().optional(),
  /**
   * Start the page at this seq, included (for permalinks: `#L120`).
   * Exclusive with `cursor`.
   */
  from_seq: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .optional(),
  /** A cursor, an ISO 8601 time or epoch milliseconds. */
  till: z.string().optional(),
  limit: digits
    .pipe(z.coerce.number())
    .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT))
    .default(DEFAULT_PAGE_LIMIT),
  /** One level or a comma-separated list. */
  level: z
    .string()
    .transform((s) => s.split(",").filter((v) => v !== ""))
    .pipe(z.array(levelSchema).min(1))
    .optional(),
  step: z.string().max(MAX_STEP_LENGTH).optional(),
  q: z.string().min(1).max(256).optional(),
  direction: z.enum(["forward", "backward"]).default("forward"),
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

export interface HistoryPage {
  lines: WireLine[];
  /** Pass as `cursor` to get the next page; null when the page is empty. */
  next_cursor: string | null;
  has_more: boolean;
}
