/**
 * Runs simulated work later. Every timer goes through one scheduler so that a reset or close
 * cancels all pending work at once.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `fn` after `delayMs`; errors thrown by `fn` go to `onError`. */
  after(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (error) {
        this.onError(error);
      }
    }, Math.max(0, delayMs));
    this.timers.add(timer);
  }

  /** Cancels everything pending. */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.timers.size;
  }

  constructor(private readonly onError: (error: unknown) => void) {}
}
