/**
 * The fused expert kernels run in plain JS, so `tf.profile` cannot see them.
 * They report their shapes here instead, and a caller that wants to account
 * for every kernel that ran (test/integration/static-vs-runtime.test.ts checks
 * the static FLOP count against a profiled step) wraps the step in
 * `traceFusedKernels`. Outside a trace, recording costs one null check.
 */

export interface FusedKernelRecord {
  /** "PeerExperts", "PeerGluExperts" or "PkmValues". */
  readonly name: string;
  /** Tokens × slots (heads · k) rows combined, and the row width. */
  readonly rows: number;
  readonly width: number;
  /** Multiply-adds × 2 of the forward: PEER 2 dot products per row (u·x and the v sum), PKM 1. */
  readonly matrixFlops: number;
}

let active: FusedKernelRecord[] | null = null;

export function recordFusedKernel(record: FusedKernelRecord): void {
  active?.push(record);
}

/** Runs `fn` and returns what the fused expert kernels recorded while it ran. */
export async function traceFusedKernels<T>(fn: () => T | Promise<T>): Promise<{ result: T; records: FusedKernelRecord[] }> {
  const outer = active;
  const records: FusedKernelRecord[] = [];
  active = records;
  try {
    const result = await fn();
    return { result, records };
  } finally {
    active = outer;
    outer?.push(...records);
  }
}
