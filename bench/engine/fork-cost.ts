import { SlotKvCache } from '@ivl/runtime';

/**
 * What a prefix-cache hit costs instead of prefill: copying `positions` cached positions into a new slot through
 * SlotKvCache.prepare, in the `4b` KV layout (36 layers, 2 KV heads of 128, fp32 KV); median of 5 copies.
 */
export function forkCost(positions: number): { ms: number; bytes: number } {
  const kv = new SlotKvCache('float32', 36, 2, 128, 4 * 2 ** 30);
  kv.prepare([{ seq: 'src', start: 0, length: positions }]);
  kv.commit('src', positions);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    kv.prepare([{ seq: `fork${r}`, start: positions - 1, length: 1, from: 'src' }]);
    times.push(performance.now() - t0);
    kv.release(`fork${r}`);
  }
  return { ms: [...times].sort((a, b) => a - b)[2], bytes: (positions - 1) * kv.bytesPerToken };
}
