import { z } from 'zod';
import type { Emulator } from './emulator';
import { AwsError } from './errors';
import type { Json } from './json';

/**
 * The control API under `/_emulator`: JSON in, JSON out. Routes are documented in
 * emulator/README.md.
 */

/** A control API answer. */
export interface ControlResponse {
  status: number;
  body: unknown;
}

const timingSchema = z
  .object({
    stackOperationMs: z.number().nonnegative(),
    actionMs: z.number().nonnegative(),
    changeSetMs: z.number().nonnegative(),
    driftDetectionMs: z.number().nonnegative(),
  })
  .partial()
  .strict();

const serviceSchema = z.enum(['cloudformation', 'codepipeline', 's3']);

const faultSchema = z
  .object({
    service: serviceSchema.optional(),
    operation: z.string().min(1).optional(),
    throttleRate: z.number().min(0).max(1).optional(),
    serverErrorRate: z.number().min(0).max(1).optional(),
    latencyMs: z.number().nonnegative().optional(),
    error: z.object({ code: z.string().min(1), message: z.string(), status: z.number().int().min(400).max(599) }).optional(),
    count: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    when: z.enum(['before', 'after']).optional(),
  })
  .strict();

const executionPlanSchema = z
  .object({
    outcome: z.enum(['Succeeded', 'Failed']),
    action: z.string().min(1).optional(),
    message: z.string().optional(),
    durationMs: z.number().nonnegative().optional(),
    hold: z.boolean().optional(),
  })
  .strict();

const stackPlanSchema = z
  .object({
    stackName: z.string().min(1).optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE']).optional(),
    delayMs: z.number().nonnegative().optional(),
    failAt: z.object({ logicalResourceId: z.string().min(1).optional(), reason: z.string().optional() }).strict().optional(),
    endIn: z.enum(['UPDATE_ROLLBACK_FAILED', 'DELETE_FAILED', 'ROLLBACK_FAILED']).optional(),
    count: z.number().int().positive().optional(),
    hold: z.boolean().optional(),
  })
  .strict();

const jsonValue: z.ZodType<Json> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

const driftSchema = z.union([
  z
    .object({
      stackName: z.string().min(1),
      logicalResourceId: z.string().min(1),
      property: z.string().min(1),
      value: jsonValue.optional(),
      region: z.string().optional(),
    })
    .strict(),
  z
    .object({ stackName: z.string().min(1), logicalResourceId: z.string().min(1), deleted: z.literal(true), region: z.string().optional() })
    .strict(),
]);

/** One item or a list of them, or `{ [key]: [...] }`. */
function listOf<T extends z.ZodTypeAny>(item: T, key: string): z.ZodType<z.infer<T>[]> {
  return z.union([
    z.array(item),
    z.object({ [key]: z.array(item) }).transform((o) => (o as Record<string, z.infer<T>[]>)[key]),
    item.transform((one) => [one]),
  ]) as unknown as z.ZodType<z.infer<T>[]>;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new AwsError('BadRequest', `invalid body: ${issues}`, 400);
  }
  return result.data;
}

/** Handles one control API request. */
export function handleControl(emulator: Emulator, method: string, url: URL, body: unknown): ControlResponse {
  const path = url.pathname.replace(/\/+$/, '');
  const q = url.searchParams;
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /_emulator/health':
      return {
        status: 200,
        body: { status: 'ok', uptimeMs: Date.now() - emulator.startedAt, ...emulator.counts(), memoryRssBytes: process.memoryUsage().rss },
      };
    case 'POST /_emulator/reset':
      emulator.reset();
      return { status: 200, body: { reset: true } };
    case 'GET /_emulator/calls': {
      const calls = emulator.journal.listCalls({
        service: q.get('service') ?? undefined,
        operation: q.get('operation') ?? undefined,
        target: q.get('target') ?? undefined,
        since: q.get('since') ?? undefined,
      });
      const limit = Number(q.get('limit') ?? 0);
      return { status: 200, body: { calls: limit > 0 ? calls.slice(-limit) : calls } };
    }
    case 'GET /_emulator/operations': {
      const operations = emulator.journal.listOperations({ kind: q.get('kind') ?? undefined, target: q.get('target') ?? undefined });
      return { status: 200, body: { operations } };
    }
    case 'GET /_emulator/timing':
      return { status: 200, body: emulator.timing };
    case 'PUT /_emulator/timing':
    case 'POST /_emulator/timing': {
      const timing = parse(timingSchema, body);
      emulator.timing = { ...emulator.timing, ...timing };
      emulator.settings.onChange();
      return { status: 200, body: emulator.timing };
    }
    case 'GET /_emulator/faults':
      return { status: 200, body: { faults: emulator.faults.list() } };
    case 'POST /_emulator/faults': {
      const rules = parse(listOf(faultSchema, 'faults'), body).map((f) => emulator.faults.add(f));
      return { status: 201, body: { faults: rules } };
    }
    case 'DELETE /_emulator/faults':
      emulator.faults.clear();
      return { status: 200, body: { faults: [] } };
    case 'GET /_emulator/stacks/next-operations':
      return { status: 200, body: { operations: emulator.plans.list().stacks } };
    case 'POST /_emulator/stacks/next-operations': {
      const plans = parse(listOf(stackPlanSchema, 'operations'), body);
      emulator.plans.addStackPlans(plans);
      emulator.settings.onChange();
      return { status: 201, body: { operations: emulator.plans.list().stacks } };
    }
    case 'POST /_emulator/drift': {
      const input = parse(driftSchema, body);
      const found = emulator.findStack(input.stackName, input.region);
      if (!found) throw new AwsError('NotFound', `Stack with id ${input.stackName} does not exist`, 404);
      const record = found.region.cfn.injectDrift(input);
      return {
        status: 200,
        body: {
          stackName: found.stack.stackName,
          logicalResourceId: record.logicalId,
          expected: record.properties ?? {},
          actual: record.deletedOutOfBand ? null : (record.actual ?? record.properties ?? {}),
          deleted: record.deletedOutOfBand === true,
        },
      };
    }
  }
  const pipelineRoute = /^\/_emulator\/pipelines\/([^/]+)\/next-executions$/.exec(path);
  if (pipelineRoute) {
    const name = decodeURIComponent(pipelineRoute[1]);
    if (method === 'POST') {
      const plans = parse(listOf(executionPlanSchema, 'executions'), body);
      emulator.plans.addPipelinePlans(name, plans);
      emulator.settings.onChange();
    } else if (method !== 'GET') {
      throw new AwsError('MethodNotAllowed', `${method} is not allowed on ${path}`, 405);
    }
    return { status: method === 'POST' ? 201 : 200, body: { pipelineName: name, executions: emulator.plans.list().pipelines[name] ?? [] } };
  }
  const releaseRoute = /^\/_emulator\/(stacks|pipelines)\/([^/]+)\/release$/.exec(path);
  if (releaseRoute && method === 'POST') return release(emulator, releaseRoute[1] as 'stacks' | 'pipelines', decodeURIComponent(releaseRoute[2]));
  throw new AwsError('NotFound', `no control route ${route}`, 404);
}

/** Lets what a plan's `hold` stopped go on: the stack's operation, or the pipeline's executions. */
function release(emulator: Emulator, kind: 'stacks' | 'pipelines', name: string): ControlResponse {
  if (kind === 'stacks') {
    const found = emulator.findStack(name);
    const operationId = found ? found.region.cfn.release(found.stack) : undefined;
    if (!operationId) throw new AwsError('NotFound', `stack ${name} has no held operation`, 404);
    return { status: 200, body: { stackName: name, operationId } };
  }
  const region = [...emulator.regions.values()].find((r) => r.pipelines.has(name));
  if (!region) throw new AwsError('NotFound', `pipeline ${name} does not exist`, 404);
  return { status: 200, body: { pipelineName: name, released: region.pipelines.release(name) } };
}
