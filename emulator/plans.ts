import type { ExecutionPlan } from './codepipeline/model';
import type { Json } from './json';

/** A planned outcome for a coming stack operation, set through the control API. */
export interface StackPlan {
  /** The stack it applies to; any stack when absent. */
  stackName?: string;
  /** The operation it applies to; any when absent. */
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  /** Total duration of the operation instead of the timing default. */
  delayMs?: number;
  /** Fail this resource (or the first one the operation touches) with this reason. */
  failAt?: { logicalResourceId?: string; reason?: string };
  /** End in this failed state (the failure it needs is implied). */
  endIn?: 'UPDATE_ROLLBACK_FAILED' | 'DELETE_FAILED' | 'ROLLBACK_FAILED';
  /** How many operations this plan applies to (default 1). */
  count?: number;
  /** The operation starts but takes no step until released through the control API. */
  hold?: boolean;
}

/**
 * The outcomes queued through the control API for coming stack operations and pipeline
 * executions, shared by every region (stacks and pipelines are matched by name).
 */
export class PlanBook {
  private stackPlans: StackPlan[] = [];
  private readonly pipelinePlans = new Map<string, ExecutionPlan[]>();

  /** Queues plans for stack operations. */
  addStackPlans(plans: StackPlan[]): void {
    this.stackPlans.push(...plans);
  }

  /** Takes the first plan that applies to this stack and operation. */
  takeStackPlan(stackName: string, kind: 'CREATE' | 'UPDATE' | 'DELETE'): StackPlan | undefined {
    const index = this.stackPlans.findIndex(
      (p) => (p.stackName === undefined || p.stackName === stackName) && (p.operation === undefined || p.operation === kind),
    );
    if (index < 0) return undefined;
    const plan = this.stackPlans[index];
    if ((plan.count ?? 1) > 1) this.stackPlans[index] = { ...plan, count: (plan.count ?? 1) - 1 };
    else this.stackPlans.splice(index, 1);
    return plan;
  }

  /** Queues outcomes for a pipeline's next executions. */
  addPipelinePlans(pipelineName: string, plans: ExecutionPlan[]): void {
    const list = this.pipelinePlans.get(pipelineName) ?? [];
    list.push(...plans);
    this.pipelinePlans.set(pipelineName, list);
  }

  /** Takes the outcome of a pipeline's next execution. */
  takePipelinePlan(pipelineName: string): ExecutionPlan | undefined {
    const list = this.pipelinePlans.get(pipelineName);
    const plan = list?.shift();
    if (list && list.length === 0) this.pipelinePlans.delete(pipelineName);
    return plan;
  }

  /** Everything still queued. */
  list(): { stacks: StackPlan[]; pipelines: Record<string, ExecutionPlan[]> } {
    return { stacks: [...this.stackPlans], pipelines: Object.fromEntries(this.pipelinePlans) };
  }

  /** Forgets everything. */
  clear(): void {
    this.stackPlans = [];
    this.pipelinePlans.clear();
  }

  /** The plans as JSON for the state file. */
  snapshot(): Json {
    return this.list() as unknown as Json;
  }

  /** Restores what `snapshot` returned. */
  restore(data: Json | undefined): void {
    this.clear();
    const d = (data ?? {}) as { stacks?: StackPlan[]; pipelines?: Record<string, ExecutionPlan[]> };
    this.stackPlans = d.stacks ?? [];
    for (const [name, plans] of Object.entries(d.pipelines ?? {})) this.pipelinePlans.set(name, plans);
  }
}
