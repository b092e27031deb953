/**
 * @module Claims of edgetail's access tokens (JWT).
 */
import { z } from "zod";
import { ID_PATTERN } from "./limits";

export const SCOPES = ["logs:write", "logs:read"] as const;
export type Scope = (typeof SCOPES)[number];

/** What a verified token grants. */
export const claimsSchema = z.object({
  tenant: z.string().regex(ID_PATTERN),
  /** Space-separated, as in OAuth, or a list. */
  scope: z.union([z.string(), z.array(z.string())]),
  /** Deployment ids this token may touch, or `*` for all of the tenant's. */
  deployments: z.union([z.literal("*"), z.array(z.string())]),
  exp: z.number(),
  /** Who the token was issued to (an agent, a person), for the audit log. */
  sub: z.string().optional(),
});
export type Claims = z.infer<typeof claimsSchema>;
