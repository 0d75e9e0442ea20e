import { createStatusStore } from '../../server/status-store';

/**
 * The server's shared status: a page answered from the snapshot never waits for a read once
 * there is one; a read runs behind an old snapshot, one at a time; after a decision the next
 * request waits for a read begun after it.
 */
describe('status store', () => {
  /** A load whose reads the test ends one by one, each answering its own number. */
  function loads() {
    const pending: { resolve: (n: number) => void; reject: (error: Error) => void }[] = [];
    let started = 0;
    const load = () =>
      new Promise<{ details: never[]; warnings: string[] }>((resolve, reject) => {
        const n = ++started;
        pending.push({ resolve: () => resolve({ details: [], warnings: [`read ${n}`] }), reject });
      });
    return { load, pending, started: () => started };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('waits for the first read, answers from the snapshot while it is young, and reads again behind an old one', async () => {
    let now = 1_000;
    const l = loads();
    const store = createStatusStore({ load: l.load, maxAgeMs: 1_000, staleLimitMs: 10_000, now: () => now });
    const first = store.read();
    const second = store.read();
    expect(l.started()).toBe(1);
    l.pending[0]!.resolve(0);
    expect((await first).warnings).toEqual(['read 1']);
    expect((await second).warnings).toEqual(['read 1']);

    now += 500;
    expect((await store.read()).warnings).toEqual(['read 1']);
    expect(l.started()).toBe(1);

    // Past its age: answered at once with the old snapshot, one read behind it however many ask.
    now += 1_000;
    expect((await store.read()).warnings).toEqual(['read 1']);
    expect((await store.read()).warnings).toEqual(['read 1']);
    expect(l.started()).toBe(2);
    l.pending[1]!.resolve(0);
    await tick();
    expect((await store.read()).warnings).toEqual(['read 2']);
  });

  it('waits for a new read when the snapshot is older than the stale limit: nobody was looking', async () => {
    let now = 1_000;
    const l = loads();
    const store = createStatusStore({ load: l.load, maxAgeMs: 1_000, staleLimitMs: 10_000, now: () => now });
    const first = store.read();
    l.pending[0]!.resolve(0);
    await first;
    now += 10_001;
    let answered: string[] | undefined;
    const later = store.read().then((s) => (answered = s.warnings));
    await tick();
    expect(answered).toBeUndefined();
    l.pending[1]!.resolve(0);
    await later;
    expect(answered).toEqual(['read 2']);
  });

  it('after a change, waits for a read begun after it', async () => {
    let now = 1_000;
    const l = loads();
    const store = createStatusStore({ load: l.load, maxAgeMs: 60_000, now: () => now });
    const first = store.read();
    l.pending[0]!.resolve(0);
    await first;
    now += 10;
    store.invalidate();
    let answered: string[] | undefined;
    const after = store.read().then((s) => (answered = s.warnings));
    await tick();
    expect(answered).toBeUndefined();
    expect(l.started()).toBe(2);
    l.pending[1]!.resolve(0);
    await after;
    expect(answered).toEqual(['read 2']);

    // A page's first render answers from the snapshot it has, and the refresh waits.
    store.invalidate();
    expect((await store.read({ staleLimitMs: Infinity, evenAfterChange: true })).warnings).toEqual(['read 2']);
    expect(l.started()).toBe(3);
    let refreshed: string[] | undefined;
    const refresh = store.read({ staleLimitMs: Infinity }).then((s) => (refreshed = s.warnings));
    await tick();
    expect(refreshed).toBeUndefined();
    l.pending[2]!.resolve(0);
    await refresh;
    expect(refreshed).toEqual(['read 3']);
  });

  it('keeps the snapshot when a read behind it fails, and says so; with no snapshot the failure is the answer', async () => {
    let now = 1_000;
    const l = loads();
    const errors: unknown[] = [];
    const store = createStatusStore({ load: l.load, maxAgeMs: 1_000, staleLimitMs: 10_000, now: () => now, onError: (e) => errors.push(e) });
    const first = store.read();
    l.pending[0]!.reject(new Error('14 UNAVAILABLE'));
    await expect(first).rejects.toThrow('14 UNAVAILABLE');
    const second = store.read();
    l.pending[1]!.resolve(0);
    await second;
    now += 5_000;
    expect((await store.read()).warnings).toEqual(['read 2']);
    l.pending[2]!.reject(new Error('deadline exceeded'));
    await tick();
    expect((await store.read()).warnings).toEqual(['read 2', 'Showing the status read 5s ago: the last read failed (deadline exceeded).']);
    expect(errors).toHaveLength(1);
  });

  it('with no age allowed, every request waits for a read of its own', async () => {
    const l = loads();
    const store = createStatusStore({ load: l.load, maxAgeMs: 0 });
    const first = store.read();
    l.pending[0]!.resolve(0);
    await first;
    const second = store.read();
    expect(l.started()).toBe(2);
    l.pending[1]!.resolve(0);
    expect((await second).warnings).toEqual(['read 2']);
  });
});
