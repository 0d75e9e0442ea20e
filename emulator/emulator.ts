import { ChangeSetService } from './cloudformation/changesets';
import { DriftService } from './cloudformation/drift';
import { CloudFormationEngine, type ResourceProvisioner } from './cloudformation/engine';
import type { StackRecord } from './cloudformation/model';
import { PipelineEngine } from './codepipeline/engine';
import type { EmulatorContext, LogFn } from './context';
import { FaultInjector } from './faults';
import { Journal } from './journal';
import type { Json } from './json';
import { PlanBook } from './plans';
import { S3Store } from './s3';
import { Scheduler } from './scheduler';
import { DEFAULT_TIMING, type EmulatorTiming } from './timing';

/** One region: its CloudFormation (with change sets and drift) and its CodePipeline. */
export interface Region {
  name: string;
  ctx: EmulatorContext;
  cfn: CloudFormationEngine;
  changeSets: ChangeSetService;
  drift: DriftService;
  pipelines: PipelineEngine;
}

/** Settings of an emulator instance. */
export interface EmulatorSettings {
  /** Region used when a request names none. */
  defaultRegion: string;
  /** Account id in ARNs. */
  accountId: string;
  /** Timing at start and after a reset. */
  timing: EmulatorTiming;
  /** The call log keeps at most this many calls. */
  maxCallLog: number;
  /** Structured log sink. */
  log: LogFn;
  /** Called whenever the state changes (the state file's debounced writer). */
  onChange: () => void;
}

/**
 * The whole emulated AWS: S3 (global), CloudFormation and CodePipeline per region (created on
 * first use), the journal, planned outcomes and faults.
 */
export class Emulator {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  readonly plans = new PlanBook();
  readonly faults = new FaultInjector();
  readonly s3: S3Store;
  readonly regions = new Map<string, Region>();
  timing: EmulatorTiming;
  readonly startedAt = Date.now();

  constructor(readonly settings: EmulatorSettings) {
    this.timing = { ...settings.timing };
    this.scheduler = new Scheduler((error) => settings.log('error', 'simulated work failed', { error: String((error as Error)?.stack ?? error) }));
    this.journal = new Journal(settings.maxCallLog);
    this.s3 = new S3Store(settings.defaultRegion, () => settings.onChange());
  }

  /** The region's services, created on first use. */
  region(name: string = this.settings.defaultRegion): Region {
    const existing = this.regions.get(name);
    if (existing) return existing;
    const emulator = this;
    const ctx: EmulatorContext = {
      region: name,
      accountId: this.settings.accountId,
      get timing() {
        return emulator.timing;
      },
      set timing(value: EmulatorTiming) {
        emulator.timing = value;
      },
      scheduler: this.scheduler,
      journal: this.journal,
      changed: () => this.settings.onChange(),
      log: this.settings.log,
    };
    const cfn = new CloudFormationEngine(ctx, this.plans);
    const pipelines = new PipelineEngine(ctx, { s3: this.s3, cloudFormation: (r) => this.region(r).cfn }, this.plans);
    cfn.setProvisioner(this.provisioner(pipelines, name));
    cfn.setTemplateFetcher((url) => this.s3.readUrl(url));
    const region: Region = {
      name,
      ctx,
      cfn,
      changeSets: new ChangeSetService(ctx, cfn),
      drift: new DriftService(ctx, cfn),
      pipelines,
    };
    this.regions.set(name, region);
    return region;
  }

  /** What stands behind resources: pipelines in the region, buckets in S3. */
  private provisioner(pipelines: PipelineEngine, region: string): ResourceProvisioner {
    const s3 = this.s3;
    return {
      create(stack: StackRecord, r) {
        if (r.type === 'AWS::CodePipeline::Pipeline') pipelines.createFromStack(stack, r.physicalId, r.properties, r.logicalId);
        else if (r.type === 'AWS::S3::Bucket') {
          if (s3.buckets.has(r.physicalId)) {
            throw new Error(`Resource handler returned message: "${r.physicalId} already exists" (HandlerErrorCode: AlreadyExists)`);
          }
          s3.createBucket(r.physicalId, region);
          s3.applyBucketProperties(r.physicalId, r.properties);
        }
      },
      update(_stack, before, after) {
        if (after.type === 'AWS::CodePipeline::Pipeline' && before.physicalId === after.physicalId) {
          pipelines.updateFromStack(after.physicalId, after.properties);
        } else if (after.type === 'AWS::S3::Bucket' && before.physicalId === after.physicalId) {
          s3.applyBucketProperties(after.physicalId, after.properties);
        }
      },
      delete(stack, r) {
        if (r.type === 'AWS::CodePipeline::Pipeline') {
          const pipeline = pipelines.pipelines.get(r.physicalId);
          if (pipeline && (pipeline.stackId === undefined || pipeline.stackId === stack.stackId)) pipelines.delete(r.physicalId);
        } else if (r.type === 'AWS::S3::Bucket' && s3.buckets.has(r.physicalId)) {
          if ((s3.buckets.get(r.physicalId)?.objects.size ?? 0) > 0) {
            throw new Error(
              `Resource handler returned message: "The bucket you tried to delete is not empty (Service: S3, Status Code: 409)" (HandlerErrorCode: GeneralServiceException)`,
            );
          }
          s3.deleteBucket(r.physicalId);
        }
      },
    };
  }

  /** Finds a live stack by name (or id) in the given region, else in any region. */
  findStack(nameOrId: string, region?: string): { region: Region; stack: StackRecord } | undefined {
    const order = region ? [this.region(region)] : [...this.regions.values()];
    for (const r of order) {
      const stack = r.cfn.find(nameOrId);
      if (stack) return { region: r, stack };
    }
    return undefined;
  }

  /** Back to an empty emulator with the start-up timing; pending work is cancelled. */
  reset(): void {
    this.scheduler.cancelAll();
    for (const r of this.regions.values()) {
      r.cfn.clear();
      r.changeSets.clear();
      r.drift.clear();
      r.pipelines.clear();
    }
    this.regions.clear();
    this.s3.clear();
    this.journal.clear();
    this.plans.clear();
    this.faults.clear();
    this.timing = { ...this.settings.timing };
    this.settings.onChange();
  }

  /** Counts for the health route and the benchmark. */
  counts(): { stacks: number; pipelines: number; executions: number; buckets: number; pendingTimers: number } {
    let stacks = 0;
    let pipelines = 0;
    let executions = 0;
    for (const r of this.regions.values()) {
      stacks += r.cfn.liveCount;
      pipelines += r.pipelines.pipelines.size;
      for (const p of r.pipelines.pipelines.values()) executions += p.executions.size;
    }
    return { stacks, pipelines, executions, buckets: this.s3.buckets.size, pendingTimers: this.scheduler.pending };
  }

  /** The whole state as JSON. */
  snapshot(): Json {
    const regions: Record<string, Json> = {};
    for (const [name, r] of this.regions) regions[name] = { cloudformation: r.cfn.snapshot(), codepipeline: r.pipelines.snapshot() };
    return {
      version: 1,
      savedAt: new Date().toISOString(),
      timing: this.timing as unknown as Json,
      s3: this.s3.snapshot(),
      regions,
      plans: this.plans.snapshot(),
      journal: this.journal.snapshot() as unknown as Json,
    };
  }

  /** Restores what `snapshot` returned; running operations and executions resume. */
  restore(data: Json): void {
    const d = data as {
      timing?: EmulatorTiming;
      s3?: Json;
      regions?: Record<string, { cloudformation: Json; codepipeline: Json }>;
      plans?: Json;
      journal?: Parameters<Journal['restore']>[0];
    };
    if (d.timing) this.timing = { ...DEFAULT_TIMING, ...d.timing };
    this.s3.restore(d.s3 ?? []);
    this.plans.restore(d.plans);
    this.journal.restore(d.journal ?? {});
    for (const [name, r] of Object.entries(d.regions ?? {})) {
      const region = this.region(name);
      region.cfn.restore(r.cloudformation);
      region.changeSets.reindex();
    }
    for (const [name, r] of Object.entries(d.regions ?? {})) this.region(name).pipelines.restore(r.codepipeline);
  }
}
