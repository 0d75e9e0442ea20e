import { AwsError, type ServiceName } from './errors';
import { SeededRandom, uuid } from './random';

/** A fault rule as the control API takes it. */
export interface FaultInput {
  /** Only calls to this service; all services when absent. */
  service?: ServiceName;
  /** Only this operation (e.g. `DescribeStacks`); all operations when absent. */
  operation?: string;
  /** Share of calls answered with the service's throttling error (0..1). */
  throttleRate?: number;
  /** Share of calls answered with HTTP 500 or 503 (0..1). */
  serverErrorRate?: number;
  /** Latency added to every matching call. */
  latencyMs?: number;
  /** A fixed error for matching calls. */
  error?: { code: string; message: string; status: number };
  /** How many matching calls the fixed error applies to; every call when absent. */
  count?: number;
  /** Seed of this rule's random draws, so a run is reproducible. */
  seed?: number;
  /**
   * `before` (default): the call fails and has no effect. `after`: the call takes effect, then the
   * error is returned instead of its result (a lost response), as a retried call would meet it.
   */
  when?: 'before' | 'after';
}

/** A fault rule in force. */
export interface FaultRule extends FaultInput {
  id: string;
  /** Calls this rule failed so far. */
  injected: number;
  /** Calls this rule matched so far. */
  matched: number;
}

const THROTTLE: Record<ServiceName, () => AwsError> = {
  cloudformation: () => new AwsError('Throttling', 'Rate exceeded', 400),
  codepipeline: () => new AwsError('ThrottlingException', 'Rate exceeded', 400),
  s3: () => new AwsError('SlowDown', 'Please reduce your request rate.', 503),
};

function serverError(service: ServiceName, unavailable: boolean): AwsError {
  if (unavailable) return new AwsError('ServiceUnavailable', 'Service is unable to handle request.', 503);
  if (service === 's3') return new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500);
  return new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
}

/** Decides, per call, added latency and injected errors; random draws are seeded per rule. */
export class FaultInjector {
  private rules: { rule: FaultRule; random: SeededRandom }[] = [];

  /** Adds a rule. */
  add(input: FaultInput): FaultRule {
    const rule: FaultRule = { ...input, id: uuid(), injected: 0, matched: 0 };
    this.rules.push({ rule, random: new SeededRandom(input.seed ?? 1) });
    return rule;
  }

  /** Rules in force. */
  list(): FaultRule[] {
    return this.rules.map((r) => r.rule);
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = [];
  }

  /** Latency to add and the error to answer with (if any) for one call. */
  decide(service: ServiceName, operation: string): { latencyMs: number; error?: AwsError; after: boolean } {
    let latencyMs = 0;
    let error: AwsError | undefined;
    let after = false;
    for (const { rule, random } of this.rules) {
      if (rule.service && rule.service !== service) continue;
      if (rule.operation && rule.operation !== operation) continue;
      rule.matched++;
      latencyMs += rule.latencyMs ?? 0;
      if (error) continue;
      if (rule.error && (rule.count === undefined || rule.injected < rule.count)) {
        error = new AwsError(rule.error.code, rule.error.message, rule.error.status);
      } else if (rule.throttleRate && random.next() < rule.throttleRate) {
        error = THROTTLE[service]();
      } else if (rule.serverErrorRate && random.next() < rule.serverErrorRate) {
        error = serverError(service, random.next() < 0.5);
      }
      if (error) {
        rule.injected++;
        after = rule.when === 'after';
      }
    }
    return { latencyMs, error, after };
  }
}
