import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Checks GitHub's `X-Hub-Signature-256: sha256=<hex>` against an HMAC-SHA256 of the raw body,
 * in constant time.
 * @example verifySignature('secret', Buffer.from('{}'), 'sha256=...') // true or false
 */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The signature GitHub sends for a body; tests and tools sign with it. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivery ids seen lately, oldest forgotten first: GitHub retries and "Redeliver" send the
 * same `X-GitHub-Delivery`, and a push must start its workflows once.
 */
export class DeliveryLog {
  private readonly seen = new Map<string, 'running' | 'done'>();
  constructor(private readonly capacity = 1_000) {}

  /** Claims a delivery: false when it is already done or being handled. */
  claim(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.set(id, 'running');
    while (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }

  /** The delivery was handled: a replay of it is a duplicate. */
  done(id: string): void {
    if (this.seen.has(id)) this.seen.set(id, 'done');
  }

  /** The delivery failed: GitHub's redelivery of it is handled again. */
  release(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }
}

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-character commit SHA');

/** The part of GitHub's push event the server reads. */
export const pushEventSchema = z.object({
  ref: z.string().min(1),
  before: sha,
  after: sha,
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string().optional() }).optional(),
  pusher: z.object({ name: z.string().max(256).optional() }).optional(),
  sender: z.object({ login: z.string().max(256).optional() }).optional(),
});
export type PushEvent = z.infer<typeof pushEventSchema>;
