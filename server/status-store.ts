import type { EnvironmentDetail } from '../common/status';

/** Every environment's status as one read found it. */
export interface StatusSnapshot {
  details: EnvironmentDetail[];
  warnings: string[];
  /** When the read that made it began (ms since the epoch). */
  at: number;
}

/** The server's shared status: every page, partial, API list and scrape reads it. */
export interface StatusStore {
  /**
   * The newest snapshot. One younger than `maxAgeMs` is answered as it is; one younger than
   * `staleLimitMs` is answered at once while a new read runs behind it (the next request gets
   * that), so a dashboard in use never waits for Temporal. A request waits when there is no
   * snapshot, when it is older than that (nobody was looking), or after {@link invalidate}.
   * Pages pass `staleLimitMs: Infinity`: they render at once and refresh themselves; a first
   * render also passes `evenAfterChange`, so that only the refresh of the person who made a
   * change waits for it.
   * @throws what the read threw, when there is no snapshot to answer with.
   */
  read(options?: ReadOptions): Promise<StatusSnapshot>;
  /** Something changed (a decision, a push): the next read waits for a snapshot begun after now. */
  invalidate(): void;
}

/** How old an answer may be, for one request. */
export interface ReadOptions {
  /** Older than this, the request waits for a new read (default: the store's). */
  staleLimitMs?: number;
  /** Answer from the snapshot even when it predates a change made since (a decision, a push). */
  evenAfterChange?: boolean;
}

/** What {@link createStatusStore} needs. */
export interface StatusStoreOptions {
  /** Reads every environment's status from Temporal (and git). */
  load: () => Promise<{ details: EnvironmentDetail[]; warnings: string[] }>;
  /** How old a snapshot may be and still be answered without a new read behind it; 0: every request waits for its own. */
  maxAgeMs: number;
  /** How old a snapshot may be and still be answered while a new read runs behind it (default: 5 s, at least `maxAgeMs`). */
  staleLimitMs?: number;
  /** Told when a read behind a snapshot fails (the snapshot is kept and says so). */
  onError?: (error: unknown) => void;
  now?: () => number;
}

/**
 * A status store that reads again behind the snapshot it answers with (stale while it
 * revalidates), one read at a time. With 2,000 environments a read takes about a second (the
 * visibility list alone), so pages answered from the snapshot do not wait for it.
 * @example const store = createStatusStore({ load: () => readEverything(), maxAgeMs: 1000 }); (await store.read()).details
 */
export function createStatusStore(options: StatusStoreOptions): StatusStore {
  const now = options.now ?? Date.now;
  let snapshot: (StatusSnapshot & { generation: number }) | undefined;
  let loading: { generation: number; at: number; promise: Promise<StatusSnapshot & { generation: number }> } | undefined;
  let generation = 0;
  let failure: { at: number; message: string } | undefined;

  const load = () => {
    const started = { generation, at: now() };
    const promise = options.load().then((value) => {
      const made = { ...value, at: started.at, generation: started.generation };
      if (!snapshot || made.at >= snapshot.at) snapshot = made;
      failure = undefined;
      return made;
    });
    const entry = { ...started, promise };
    loading = entry;
    void promise.then(
      () => {
        if (loading === entry) loading = undefined;
      },
      (error: unknown) => {
        if (loading === entry) loading = undefined;
        failure = { at: started.at, message: (error as Error)?.message ?? String(error) };
      },
    );
    return promise;
  };

  return {
    async read(asked = {}) {
      if (options.maxAgeMs === 0) return load();
      const t = now();
      if (snapshot && snapshot.generation === generation && snapshot.at >= t - options.maxAgeMs) return snapshot;
      const staleLimit = Math.max(asked.staleLimitMs ?? options.staleLimitMs ?? 5_000, options.maxAgeMs);
      if (!snapshot || (snapshot.generation !== generation && !asked.evenAfterChange) || snapshot.at < t - staleLimit) {
        // Nothing to answer with, or what there is predates a change someone just made: wait.
        if (loading && loading.generation === generation) return loading.promise;
        return load();
      }
      if (!loading) {
        load().catch((error: unknown) => options.onError?.(error));
      }
      if (!failure) return snapshot;
      const age = Math.round((t - snapshot.at) / 1000);
      return { ...snapshot, warnings: [...snapshot.warnings, `Showing the status read ${age}s ago: the last read failed (${failure.message}).`] };
    },
    invalidate() {
      generation += 1;
    },
  };
}
