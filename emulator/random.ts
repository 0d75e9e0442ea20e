import { randomBytes, randomUUID } from 'node:crypto';

/** A seeded pseudo-random source (mulberry32): the same seed gives the same sequence. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A version 4 UUID. */
export function uuid(): string {
  return randomUUID();
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random suffix such as CloudFormation appends to generated names (`1A2B3C4D5E6F`). */
export function suffix(length = 12, lower = false): string {
  const alphabet = lower ? LOWER : UPPER;
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

/** Random lowercase hex, as in `sg-0a1b2c3d4e5f60718`. */
export function hex(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}
