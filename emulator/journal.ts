import type { ServiceName } from './errors';

/** One AWS call the emulator served. */
export interface CallRecord {
  /** When the request arrived (ISO 8601). */
  time: string;
  service: ServiceName;
  operation: string;
  /** The call's main target: StackName, pipeline name, bucket/key. */
  target?: string;
  status: number;
  errorCode?: string;
  requestId: string;
  durationMs: number;
}

/** The lifecycle of one stack operation or pipeline execution. */
export interface OperationRecord {
  id: string;
  kind: 'stack' | 'pipeline';
  /** CREATE_STACK, UPDATE_STACK, DELETE_STACK, CONTINUE_ROLLBACK, or PIPELINE_EXECUTION. */
  operation: string;
  /** Stack name or pipeline name. */
  target: string;
  stackId?: string;
  pipelineExecutionId?: string;
  startedAt: string;
  endedAt?: string;
  /** The final status (or the current one while it runs). */
  status: string;
  clientRequestToken?: string;
}

/** The call log and the operations log that the control API serves. */
export class Journal {
  private calls: CallRecord[] = [];
  private readonly operations = new Map<string, OperationRecord>();

  constructor(
    /** The call log keeps at most this many of the latest calls. */
    private readonly maxCalls: number,
  ) {}

  /** Records a served call. */
  call(record: CallRecord): void {
    this.calls.push(record);
    if (this.calls.length > this.maxCalls * 1.1) this.calls = this.calls.slice(this.calls.length - this.maxCalls);
  }

  /** Calls, oldest first, optionally filtered. */
  listCalls(filter: { service?: string; operation?: string; target?: string; since?: string } = {}): CallRecord[] {
    return this.calls.filter(
      (c) =>
        (!filter.service || c.service === filter.service) &&
        (!filter.operation || c.operation === filter.operation) &&
        (!filter.target || c.target === filter.target) &&
        (!filter.since || c.time >= filter.since),
    );
  }

  /** Starts an operation record. */
  begin(record: Omit<OperationRecord, 'startedAt'> & { startedAt?: string }): OperationRecord {
    const full: OperationRecord = { ...record, startedAt: record.startedAt ?? new Date().toISOString() };
    this.operations.set(full.id, full);
    return full;
  }

  /** Updates the status of an operation, ending it when `final`. */
  update(id: string, status: string, final: boolean): void {
    const record = this.operations.get(id);
    if (!record) return;
    record.status = status;
    if (final) record.endedAt = new Date().toISOString();
  }

  /** Operations, oldest first, optionally filtered. */
  listOperations(filter: { kind?: string; target?: string } = {}): OperationRecord[] {
    const out: OperationRecord[] = [];
    for (const op of this.operations.values()) {
      if ((!filter.kind || op.kind === filter.kind) && (!filter.target || op.target === filter.target)) out.push(op);
    }
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.calls = [];
    this.operations.clear();
  }

  /** The journal as JSON for the state file. */
  snapshot(): { calls: CallRecord[]; operations: OperationRecord[] } {
    return { calls: this.calls, operations: [...this.operations.values()] };
  }

  /** Restores what `snapshot` returned. */
  restore(data: { calls?: CallRecord[]; operations?: OperationRecord[] }): void {
    this.calls = data.calls ?? [];
    this.operations.clear();
    for (const op of data.operations ?? []) this.operations.set(op.id, op);
  }
}
