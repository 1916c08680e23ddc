import { describe, expect, it } from 'vitest';
import { Admission } from './admission';

describe('Admission (KV budget of the ring)', () => {
  it('admits while there is room, queues in arrival order, and refuses what can never fit', async () => {
    const a = new Admission(100);
    const order: string[] = [];
    await a.acquire(60);
    const p1 = a.acquire(50).then(() => order.push('first'));
    const p2 = a.acquire(10).then(() => order.push('second'));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]); // the 10-token request does not jump the queue
    expect(a.queued).toBe(2);
    a.release(60);
    await Promise.all([p1, p2]);
    expect(order).toEqual(['first', 'second']);
    expect(a.reserved).toBe(60);
    await expect(a.acquire(101)).rejects.toThrow(/needs 101 KV tokens but the pipeline holds at most 100/);
  });

  it('a larger capacity (a stage came back with more room) lets waiters in', async () => {
    const a = new Admission(10);
    await a.acquire(10);
    let done = false;
    const p = a.acquire(5).then(() => (done = true));
    a.setCapacity(20);
    await p;
    expect(done).toBe(true);
  });
});
