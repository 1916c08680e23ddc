import { describe, expect, it } from 'vitest';
import { Admission } from './admission';

describe('Admission (KV budget of the ring, slot layout)', () => {
  it('counts sequences × the longest reservation, as the slot buffers hold them', () => {
    const a = new Admission(300);
    expect(a.tryAcquire(100)).toBe(true);
    expect(a.tryAcquire(100)).toBe(true);
    expect(a.reserved).toBe(200);
    // A third of 100 fits (3 × 100), but a long one would make every slot 150 long: 3 × 150 > 300.
    expect(a.fits(150)).toBe(false);
    expect(a.tryAcquire(150)).toBe(false);
    expect(a.tryAcquire(100)).toBe(true);
    expect(a.tryAcquire(1)).toBe(false); // 4 × 100 > 300
    a.release(100);
    expect(a.running).toBe(2);
    expect(a.tryAcquire(1)).toBe(true);
  });

  it('refuses what can never fit with the reason', () => {
    const a = new Admission(100);
    expect(() => a.tryAcquire(101)).toThrow(/needs 101 KV tokens but the pipeline holds at most 100/);
  });

  it('tells listeners after each release', () => {
    const a = new Admission(100);
    let calls = 0;
    a.onRelease(() => calls++);
    a.tryAcquire(50);
    a.release(50);
    expect(calls).toBe(1);
  });

  it('acquire waits in arrival order, and tryAcquire does not jump the queue', async () => {
    const a = new Admission(100);
    const order: string[] = [];
    await a.acquire(60);
    const p1 = a.acquire(50).then(() => order.push('first'));
    const p2 = a.acquire(10).then(() => order.push('second'));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(a.queued).toBe(2);
    expect(a.tryAcquire(1)).toBe(false);
    a.release(60);
    await Promise.all([p1, p2]);
    expect(order).toEqual(['first', 'second']); // 2 × 50 = 100 fits
    await expect(a.acquire(101)).rejects.toThrow(/at most 100/);
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
