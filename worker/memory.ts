/**
 * The Node settings the image runs the worker with (the Dockerfile's `ENV NODE_OPTIONS`): a
 * 512 MB old space keeps V8's heaps growing to about 1.4x what they hold instead of about 4x, and
 * 4 MB semi-spaces an 8 MB young generation instead of 32 MB, in the main thread and in the SDK's
 * workflow thread alike. `npm run bench:scale`, 1,000 deployments in flight: RSS 539 MB with
 * Node's defaults, about 320 MB with these. A test holds the Dockerfile to this value.
 */
export const IMAGE_NODE_OPTIONS = '--max-old-space-size=512 --max-semi-space-size=4';

/** A heap limit above this was not chosen: Node sized it from the machine's memory. */
const UNSET_ABOVE_MB = 1024;
/** What each heap holds beside the cache: about 30 MB (main) and 20 MB (workflow thread) idle, with room for a push's burst. */
const BASE_MB = 100;
/** Old space per cached workflow, rounded up from bench:scale's 0.45 MB (V8 and the Temporal core together). */
const MB_PER_CACHED_WORKFLOW = 0.5;

/** What the worker logs at start about its heap, if anything. */
export interface HeapAdvice {
  level: 'info' | 'warn';
  message: string;
}

/**
 * Whether the heap Node gave the worker suits it: a limit Node sized from the machine (the heaps
 * then grow lazily to several times what they hold), or one too small for the workflow cache
 * (the workflow thread would run out of memory).
 * @example heapAdvice({ heapLimitMb: v8.getHeapStatistics().heap_size_limit / 2 ** 20, maxCachedWorkflows: 200 })
 */
export function heapAdvice(options: { heapLimitMb: number; maxCachedWorkflows: number }): HeapAdvice | undefined {
  const { heapLimitMb, maxCachedWorkflows } = options;
  const limit = Math.round(heapLimitMb);
  if (heapLimitMb > UNSET_ABOVE_MB) {
    return {
      level: 'info',
      message: `V8 heap limit ${limit} MB, sized by Node from the machine's memory: the worker's heaps grow to about 4x what they hold (about 540 MB of RSS at 1,000 deployments in flight, 320 MB with the image's settings); set NODE_OPTIONS="${IMAGE_NODE_OPTIONS}" as the image does (README, Production, Memory)`,
    };
  }
  const needed = Math.ceil(BASE_MB + MB_PER_CACHED_WORKFLOW * maxCachedWorkflows);
  if (heapLimitMb < needed) {
    return {
      level: 'warn',
      message: `V8 heap limit ${limit} MB is too small for CFN_GITOPS_MAX_CACHED_WORKFLOWS=${maxCachedWorkflows}: the workflow thread may run out of memory; give NODE_OPTIONS --max-old-space-size=${needed} or more (100 MB and 0.5 MB per cached workflow), or cache fewer`,
    };
  }
  return undefined;
}
