/**
 * @module `GET /v1/deployments/{id}/export`: the whole log (or a cursor
 * range) as plain text or NDJSON, streamed from the Deployment object's
 * hot tail and sealed chunks, so it is complete even while ClickHouse
 * catches up.
 */
import { Hono } from "hono";
import { z } from "zod";
import { toWireLine } from "../../schemas/wire";
import { readCursor } from "../cursors";
import { describeLog, target } from "../deployments";
import type { AppEnv } from "../env";
import { fromZod } from "../errors";

const READ_LINES = 5_000;

const exportQuerySchema = z.object({
  format: z.enum(["text", "ndjson"]).default("text"),
  cursor: z.string().optional(),
  till: z.string().optional(),
});

export const exportRoutes = new Hono<AppEnv>();

exportRoutes.get("/:id/export", async (c) => {
  const t = target(c, "logs:read");
  const query = exportQuerySchema.safeParse(c.req.query());
  if (!query.success) throw fromZod(query.error);
  const { format, cursor, till } = query.data;

  const info = await describeLog(t);
  let after = cursor
    ? readCursor(t.key, cursor, info.epoch, "cursor", info.last_seq).seq
    : 0;
  const upto = till
    ? readCursor(t.key, till, info.epoch, "till").seq
    : info.last_seq;
  const encoder = new TextEncoder();

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (after >= upto) return controller.close();
      const lines = (await t.stub.read(after, READ_LINES)).filter(
        (l) => l.seq <= upto,
      );
      const last = lines.at(-1);
      if (!last) return controller.close();
      after = last.seq;
      const text =
        format === "ndjson"
          ? lines
              .map(
                (l) => `${JSON.stringify(toWireLine(l, t.key, info.epoch))}\n`,
              )
              .join("")
          : lines
              .map((l) => (l.partial ? l.message : `${l.message}\n`))
              .join("");
      controller.enqueue(encoder.encode(text));
    },
  });
  const extension = format === "ndjson" ? "ndjson" : "log";
  return new Response(body, {
    headers: {
      "content-type":
        format === "ndjson"
          ? "application/x-ndjson; charset=utf-8"
          : "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="${t.deployment}.${extension}"`,
      "x-edgetail-last-seq": String(upto),
    },
  });
});
