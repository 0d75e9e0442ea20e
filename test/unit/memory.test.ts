import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { heapAdvice, IMAGE_NODE_OPTIONS } from '../../worker/memory';

/** heap_size_limit in MB of a node started with `nodeOptions`, as the worker would read it. */
function heapLimitMb(nodeOptions: string): number {
  const out = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' });
  return Number(out) / 2 ** 20;
}

describe('heapAdvice', () => {
  test('the image sets the NODE_OPTIONS the worker recommends', () => {
    const dockerfile = readFileSync(path.join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENV NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
  });

  test("a node started with the image's NODE_OPTIONS gets no advice at the default cache", () => {
    const limit = heapLimitMb(IMAGE_NODE_OPTIONS);
    expect(limit).toBeGreaterThan(512);
    expect(limit).toBeLessThan(600);
    expect(heapAdvice({ heapLimitMb: limit, maxCachedWorkflows: 200 })).toBeUndefined();
  });

  test("a limit Node sized from the machine is told the image's settings", () => {
    const advice = heapAdvice({ heapLimitMb: 4144, maxCachedWorkflows: 200 });
    expect(advice?.level).toBe('info');
    expect(advice?.message).toContain('V8 heap limit 4144 MB');
    expect(advice?.message).toContain(`NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
  });

  test('a cache the heap cannot hold is a warning naming the limit to give', () => {
    expect(heapAdvice({ heapLimitMb: 524, maxCachedWorkflows: 800 })).toBeUndefined();
    const advice = heapAdvice({ heapLimitMb: 524, maxCachedWorkflows: 1000 });
    expect(advice).toEqual({ level: 'warn', message: expect.stringContaining('CFN_GITOPS_MAX_CACHED_WORKFLOWS=1000') });
    expect(advice?.message).toContain('--max-old-space-size=600');
  });
});
