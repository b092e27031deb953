/**
 * @module Secrets (masks) on their way to the server. They never touch
 * the spill file and always go before the lines written after them: with
 * the next batch, or on their own (`POST .../secrets`) when no batch is
 * due. A mask that failed to go out rides with the next batch.
 */
import {
  MAX_SECRET_LENGTH,
  MAX_SECRETS_PER_DEPLOYMENT,
  MAX_SECRETS_PER_REQUEST,
  MIN_SECRET_LENGTH,
} from "../../schemas/limits";

/** The masks of one agent: checked, deduplicated, sent in order. */
export class Masks {
  /** New masks, registered on their own if no batch takes them first. */
  private pending: string[] = [];
  /** Masks that failed to go out: only with the next batch. */
  private carry: string[] = [];
  private readonly known = new Set<string>();

  /** True when masks wait to be registered on their own. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** Checks and queues masks; ones seen before are skipped. */
  add(secrets: readonly string[]): void {
    secrets.forEach((s, i) => {
      if (s.length < MIN_SECRET_LENGTH || s.length > MAX_SECRET_LENGTH) {
        // Never echo the value: it is a secret.
        throw new RangeError(
          `secrets[${i}]: a secret is ${MIN_SECRET_LENGTH} to ` +
            `${MAX_SECRET_LENGTH} characters`,
        );
      }
    });
    const fresh = [...new Set(secrets)].filter((s) => !this.known.has(s));
    if (this.known.size + fresh.length > MAX_SECRETS_PER_DEPLOYMENT) {
      throw new RangeError(
        `a deployment holds at most ${MAX_SECRETS_PER_DEPLOYMENT} secrets`,
      );
    }
    for (const s of fresh) this.known.add(s);
    this.pending.push(...fresh);
  }

  /** Masks for the next batch's `secrets` field (at most 100). */
  forBatch(): string[] {
    const out = [...this.carry, ...this.pending].slice(
      0,
      MAX_SECRETS_PER_REQUEST,
    );
    this.carry = this.carry.filter((s) => !out.includes(s));
    this.pending = this.pending.filter((s) => !out.includes(s));
    return out;
  }

  /** Masks for one `POST .../secrets` request. */
  alone(): string[] {
    return this.pending.splice(0, MAX_SECRETS_PER_REQUEST);
  }

  /** Masks that did not get through: they go with the next batch. */
  retry(secrets: readonly string[]): void {
    this.carry.unshift(...secrets);
  }
}
