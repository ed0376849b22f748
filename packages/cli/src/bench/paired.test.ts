import { describe, expect, it } from 'vitest';
import { PAIR_GROUPS } from './goals.js';
import { callsPerRound, type RoundServer, runRounds } from './paired.js';
import type { RoundMode } from './types.js';

/** A server whose call costs `cost(mode)` ms times the host's speed factor at that moment; it logs each request. */
function fakeServer(name: string, cost: (mode: RoundMode) => number, host: { factor: () => number }, log: string[]): RoundServer {
  return {
    async time(mode, calls) {
      log.push(`${name} ${mode} ${calls}`);
      return cost(mode) * host.factor();
    },
    async close() {},
  };
}

const goal = { id: 'a/b', a: { target: 'a', mode: 'fresh' as const }, b: { target: 'b', mode: 'fresh' as const } };

describe('runRounds', () => {
  it('alternates which side goes first, round by round, after one warm-up round it does not keep', async () => {
    const log: string[] = [];
    const host = { factor: () => 1 };
    const a = fakeServer('a', () => 2, host, log);
    const b = fakeServer('b', () => 1, host, log);
    const [result] = await runRounds({ a, b }, [goal], { rounds: 3, calls: { 'a/b': { a: 5, b: 7 } } });
    expect(log).toEqual([
      'a fresh 5',
      'b fresh 7', // warm-up (round 0)
      'b fresh 7',
      'a fresh 5',
      'a fresh 5',
      'b fresh 7',
      'b fresh 7',
      'a fresh 5',
    ]);
    expect(result).toMatchObject({ id: 'a/b', rounds: 3, ratio: 2, min: 2, max: 2, aMs: 2, bMs: 1 });
  });

  it('gives the true ratio while the host slows down and speeds up by 4x, where medians taken one side after the other do not', async () => {
    // The host's speed moves between requests (1x, 4x, 2x, 3x) but holds within a round, so
    // each round's ratio is a's cost over b's (1.5).
    const factors = [1, 1, 4, 4, 1, 1, 2, 2, 1, 1, 3, 3, 1, 1, 4, 4, 2, 2, 1, 1];
    let request = 0;
    const host = { factor: () => factors[request++ % factors.length]! };
    // The same host, a's ten calls timed first and then b's (as separate processes minutes apart):
    const sequential = factors.map((f, k) => (k < 10 ? 3 : 2) * f);
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    expect(med(sequential.slice(0, 10)) / med(sequential.slice(10))).not.toBeCloseTo(1.5, 1);
    const log: string[] = [];
    const [result] = await runRounds({ a: fakeServer('a', () => 3, host, log), b: fakeServer('b', () => 2, host, log) }, [goal], {
      rounds: 9,
      calls: { 'a/b': { a: 1, b: 1 } },
    });
    expect(result!.ratio).toBe(1.5);
    expect(result!.min).toBe(1.5);
    expect(result!.max).toBe(1.5);
  });

  it('takes the median of per-round ratios (not a ratio of medians) and runs every goal of a group in each round', async () => {
    const aTimes = [9, 10, 20, 30];
    const bTimes = [9, 5, 40, 15];
    let i = 0;
    let j = 0;
    const a: RoundServer = { time: async (mode) => (mode === 'out' ? 1 : aTimes[i++]!), close: async () => {} };
    const b: RoundServer = { time: async (mode) => (mode === 'out' ? 4 : bTimes[j++]!), close: async () => {} };
    const out = { id: 'a out/b out', a: { target: 'a', mode: 'out' as const }, b: { target: 'b', mode: 'out' as const } };
    const [fresh, into] = await runRounds({ a, b }, [goal, out], {
      rounds: 3,
      calls: { 'a/b': { a: 1, b: 1 }, 'a out/b out': { a: 1, b: 1 } },
    });
    // Rounds: 10/5 = 2, 20/40 = 0.5, 30/15 = 2 -> median 2 (the ratio of the medians would be 20/15).
    expect(fresh).toMatchObject({ ratio: 2, min: 0.5, max: 2, aMs: 20, bMs: 15, rounds: 3 });
    expect(into).toMatchObject({ id: 'a out/b out', ratio: 0.25, rounds: 3 });
  });
});

describe('round plan', () => {
  it('asks for about 150 ms of calls per side per round, at least 1 and at most 20,000', () => {
    expect(callsPerRound(0.0075)).toBe(20_000);
    expect(callsPerRound(0.05)).toBe(3000);
    expect(callsPerRound(1.5)).toBe(100);
    expect(callsPerRound(600)).toBe(1);
    expect(callsPerRound(undefined)).toBe(1);
  });

  it('pairs every two-target goal of issue 16 with the targets its ratio names', () => {
    const ids = PAIR_GROUPS.flatMap((g) => g.goals.map((x) => x.id));
    expect(ids).toEqual([
      'js/torch',
      'js out/torch out',
      'js out/copy',
      'onnx/ort-session',
      'onnx out/ort-session out',
      'tfjs-cpu/js',
      'tf.gather@wasm/tfjs-wasm',
    ]);
    for (const group of PAIR_GROUPS) {
      for (const g of group.goals) {
        expect([g.a.target, g.b.target].sort()).toEqual([group.a, group.b].sort());
        expect(g.id.replaceAll(' out', '')).toBe(`${g.a.target}/${g.b.target}`);
      }
    }
  });
});
