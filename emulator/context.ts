import type { Journal } from './journal';
import type { Scheduler } from './scheduler';
import type { EmulatorTiming } from './timing';

/** A structured log line (level, message, fields). */
export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** What every service of the emulator shares: where it runs, the clock, the journal. */
export interface EmulatorContext {
  /** The region in ARNs and pseudo parameters. */
  readonly region: string;
  /** The account id in ARNs. */
  readonly accountId: string;
  /** Current timing; the control API changes it at run time. */
  timing: EmulatorTiming;
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  /** Marks the state as changed so the state file is written (debounced). */
  changed(): void;
  readonly log: LogFn;
}
