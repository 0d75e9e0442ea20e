import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { LogFn } from './context';
import type { Json } from './json';

/**
 * The optional state file: read once at start, written in the background (debounced) after
 * changes, atomically (temp file then rename), and once more on close.
 */
export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private firstDirtyAt = 0;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Json,
    private readonly log: LogFn,
    /** Wait this long after the last change before writing. */
    private readonly debounceMs = 200,
    /** Never wait longer than this after the first unwritten change. */
    private readonly maxDelayMs = 2000,
  ) {}

  /** Reads the state file; undefined when it does not exist. @throws Error when it exists but is not valid JSON. */
  static read(path: string): Json | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return JSON.parse(text) as Json;
  }

  /** Notes a change; the file is written shortly after. */
  markDirty(): void {
    const now = Date.now();
    if (!this.dirty) this.firstDirtyAt = now;
    this.dirty = true;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstDirtyAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
    this.timer.unref();
  }

  /** Writes the state now if it changed. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.dirty) return this.writing;
    this.dirty = false;
    const text = JSON.stringify(this.snapshot());
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`;
      try {
        await writeFile(tmp, text);
        await rename(tmp, this.path);
      } catch (error) {
        this.log('error', 'could not write the state file', { path: this.path, error: String(error) });
      }
    });
    return this.writing;
  }
}
