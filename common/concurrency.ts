/**
 * Runs `work` over `items`, at most `limit` at a time, keeping the order of `items`. Pure
 * promise code, so workflows (deterministic) and the starter share it.
 * @example await mapLimit(environments, 32, submit)
 */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
