import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { rawCommand } from '../../../scripts/redis-cluster.mjs';
import { createRedisBackend, openRedisTable, RedisUnavailableError } from './index.js';
import { requireRedis, uniqueTable, useRedis } from './testing.js';

const WORKER = fileURLToPath(new URL('../scripts/train-worker.mjs', import.meta.url));
const FIT_WORKER = fileURLToPath(new URL('../scripts/fit-worker.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runWorker(nodes: string, table: string, steps: number): Promise<string> {
  return runScript(WORKER, [nodes, table, String(steps)]);
}

function runScript(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`worker exited with ${code}: ${err}`))));
  });
}

/** Masters of the cluster as `{ id, port, slots }` from CLUSTER NODES. */
async function masters(port: number): Promise<{ id: string; port: number; slots: number }[]> {
  const text = await rawCommand(port, ['CLUSTER', 'NODES']);
  return text
    .split('\n')
    .filter((l) => {
      const flags = (l.split(' ')[2] ?? '').split(',');
      return flags.includes('master') && !flags.includes('fail');
    })
    .map((l) => {
      const f = l.trim().split(' ');
      const slots = f.slice(8).reduce((n, r) => {
        if (r.startsWith('[')) return n;
        const [a, b] = r.split('-').map(Number);
        return n + ((b ?? a!) - a! + 1);
      }, 0);
      return { id: f[0]!.replace(/^.*\$/, ''), port: Number(f[1]!.split(':')[1]!.split('@')[0]), slots };
    });
}

/**
 * The float32 result of `n` RMSprop steps (Keras 3, not centered, no momentum) of gradient g
 * from w = 0, v = 0, every step touching the row (no idle decay), computed here in float64
 * with float32 rounding where a Float32Array stores.
 */
function rmspropReference(n: number, g: number, lr: number, rho: number): number {
  let w = 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    v = Math.fround(rho * v + (1 - rho) * g * g);
    w = Math.fround(w + Math.fround(-((lr * g) / Math.sqrt(v + 1e-7))));
  }
  return w;
}

/** The float32 result of `n` adagrad steps of gradient g from w = 0, acc = 0.1, lr, epsilon 1e-7 (Keras 3), computed here in float64 with float32 rounding where a Float32Array stores. */
function adagradReference(n: number, g: number, lr: number): number {
  let w = 0;
  let acc = Math.fround(0.1);
  for (let i = 0; i < n; i++) {
    acc = Math.fround(acc + g * g);
    w = Math.fround(w + Math.fround(-(lr * g) / Math.sqrt(acc + 1e-7)));
  }
  return w;
}

if (requireRedis()) {
  const cluster = useRedis({ basePort: 30101, masters: 3, replicas: 1 });

  describe('adapter-redis: concurrency and faults (local 3+3 cluster)', () => {
    it('two processes training one table concurrently end with exactly the sum of their updates', async () => {
      const nodes = cluster.get().seeds;
      const table = uniqueTable('concurrent');
      const init = await Embedding.create(
        { inputDim: 20, outputDim: 4, embeddingsInitializer: 'zeros', name: table },
        { backend: createRedisBackend({ nodes, table }) },
      );
      await init.dispose();
      const steps = 60;
      const done = await Promise.all([runWorker(nodes, table, steps), runWorker(nodes, table, steps)]);
      expect(done).toEqual([`done ${steps}`, `done ${steps}`]);
      const t = await openRedisTable({ nodes, table, inputDim: 20, outputDim: 4, dropOnDispose: true });
      const rows = await t.readRows(Int32Array.from([0, 1, 2, 7, 3, 4]));
      const total = 2 * steps;
      // SGD through the layer: each step adds -0.25 to rows 1 and 7 and -0.5 to row 2 (exact in float32).
      expect(Array.from(rows.subarray(0, 16))).toEqual([
        0,
        0,
        0,
        0,
        ...Array(4).fill(-0.25 * total),
        ...Array(4).fill(-0.5 * total),
        ...Array(4).fill(-0.25 * total),
      ]);
      // Adagrad on the server with its accumulator beside the row: the same as `total` steps in one process.
      const expected = adagradReference(total, 0.5, 0.01);
      for (const v of rows.subarray(16)) expect(v).toBe(expected);
      await t.drop();
      await t.close();
    }, 120_000);

    /**
     * Two processes `fit` Adagrad on overlapping rows of one table (scripts/fit-worker.mjs: rows
     * 0-15 and 8-23, 30 epochs of 2 batches, every value's gradient -1/32). The reference is one
     * process applying both gradient streams through the server optimizer; since every update
     * of a row has the same gradient, the result does not depend on how the two interleave.
     */
    async function twoFits(serverOptimizers: boolean): Promise<{ trained: Float32Array; reference: Float32Array }> {
      const nodes = cluster.get().seeds;
      const table = uniqueTable('fit');
      const init = await Embedding.create(
        { inputDim: 24, outputDim: 4, embeddingsInitializer: 'zeros', name: table },
        { backend: createRedisBackend({ nodes, table }) },
      );
      await init.dispose();
      const epochs = 30;
      const flag = serverOptimizers ? '1' : '0';
      const done = await Promise.all([
        runScript(FIT_WORKER, [nodes, table, '0', String(epochs), flag]),
        runScript(FIT_WORKER, [nodes, table, '8', String(epochs), flag]),
      ]);
      expect(done).toEqual([`done ${epochs}`, `done ${epochs}`]);
      const t = await openRedisTable({ nodes, table, inputDim: 24, outputDim: 4 });
      const trained = await t.readRange(0, 24);
      await t.drop();
      await t.close();
      const ref = await openRedisTable({ nodes, table: uniqueTable('fit-ref'), inputDim: 24, outputDim: 4 });
      const g = new Float32Array(8 * 4).fill(-1 / 32);
      for (let e = 0; e < epochs; e++) {
        for (const first of [0, 8]) {
          for (const batch of [0, 8]) {
            const rows = Int32Array.from({ length: 8 }, (_, i) => first + batch + i);
            await ref.applyOptimizer(rows, g, { kind: 'adagrad', learning_rate: 0.05 });
          }
        }
      }
      const reference = await ref.readRange(0, 24);
      await ref.drop();
      await ref.close();
      return { trained, reference };
    }

    it('two processes fitting Adagrad on one table share its state on the server: the table equals one process applying both gradient streams', async () => {
      const { trained, reference } = await twoFits(true);
      expect(trained).toEqual(reference);
      // Independently: rows 8-15 were updated 60 times, the others 30 (float64 with float32 rounding, here).
      const expected = Float32Array.from({ length: 24 * 4 }, (_, i) => {
        const row = Math.floor(i / 4);
        return adagradReference(row >= 8 && row < 16 ? 60 : 30, -1 / 32, 0.05);
      });
      expect(trained).toEqual(expected);
    }, 180_000);

    it('without the server optimizer (serverOptimizers: false) each process keeps its own accumulator, and the shared rows end elsewhere', async () => {
      const { trained, reference } = await twoFits(false);
      // Rows only one process touched are the same; rows both touched took bigger steps (two accumulators of 30 updates).
      expect(trained.subarray(0, 32)).toEqual(reference.subarray(0, 32));
      expect(trained.subarray(64)).toEqual(reference.subarray(64));
      for (let i = 32; i < 64; i++) expect(trained[i]!).toBeGreaterThan(reference[i]! + 1e-3);
      // Each shared row moved by two processes' 30 steps, each from its own accumulator.
      expect(trained[32]).toBeCloseTo(2 * adagradReference(30, -1 / 32, 0.05), 5);
    }, 180_000);

    /**
     * Two processes `fit` RMSprop on every row of one table (scripts/fit-worker.mjs rmsprop:
     * 30 epochs of one batch of all 24 rows: mae over 96 values, so every value's gradient is
     * -1/96), against one
     * process applying both gradient streams (60 steps) through the server optimizer.
     */
    async function twoRmspropFits(serverOptimizers: boolean): Promise<{ trained: Float32Array; reference: Float32Array }> {
      const nodes = cluster.get().seeds;
      const table = uniqueTable('fit-rms');
      const init = await Embedding.create(
        { inputDim: 24, outputDim: 4, embeddingsInitializer: 'zeros', name: table },
        { backend: createRedisBackend({ nodes, table }) },
      );
      await init.dispose();
      const epochs = 150;
      const flag = serverOptimizers ? '1' : '0';
      const done = await Promise.all([
        runScript(FIT_WORKER, [nodes, table, '0', String(epochs), flag, 'rmsprop']),
        runScript(FIT_WORKER, [nodes, table, '0', String(epochs), flag, 'rmsprop']),
      ]);
      expect(done).toEqual([`done ${epochs}`, `done ${epochs}`]);
      const t = await openRedisTable({ nodes, table, inputDim: 24, outputDim: 4 });
      const trained = await t.readRange(0, 24);
      await t.drop();
      await t.close();
      const ref = await openRedisTable({ nodes, table: uniqueTable('fit-rms-ref'), inputDim: 24, outputDim: 4 });
      const rows = Int32Array.from({ length: 24 }, (_, i) => i);
      const g = new Float32Array(24 * 4).fill(-1 / 96);
      for (let step = 0; step < 2 * epochs; step++) {
        await ref.applyOptimizer(rows, g, { kind: 'rmsprop', learning_rate: 0.01, rho: 0.9 });
      }
      const reference = await ref.readRange(0, 24);
      await ref.drop();
      await ref.close();
      return { trained, reference };
    }

    it('two processes fitting RMSprop on one table share its state on the server: the table equals one process applying both gradient streams', async () => {
      const { trained, reference } = await twoRmspropFits(true);
      expect(trained).toEqual(reference);
      // Independently: 60 steps of one shared velocity per value.
      expect(trained).toEqual(new Float32Array(24 * 4).fill(rmspropReference(300, -1 / 96, 0.01, 0.9)));
    }, 180_000);

    it('RMSprop without the server optimizer (serverOptimizers: false): each process keeps its own velocity, and the table ends elsewhere', async () => {
      const { trained, reference } = await twoRmspropFits(false);
      // Two velocities of 30 steps each start small twice, so the early, larger steps count twice.
      for (let i = 0; i < trained.length; i++) expect(trained[i]!).toBeGreaterThan(reference[i]! + 1e-3);
      expect(trained[0]).toBeCloseTo(2 * rmspropReference(150, -1 / 96, 0.01, 0.9), 5);
    }, 180_000);

    it('an RMSprop step waits for the table step lease: a lease held past lease + timeout is RedisUnavailableError naming it, and the rows are unchanged', async () => {
      const state = cluster.get();
      const table = uniqueTable('lease');
      const t = await openRedisTable({ nodes: state.seeds, table, inputDim: 8, outputDim: 2, timeoutMs: 300, dropOnDispose: true });
      const lock = `el:{${table}}:step-lock`;
      // Another process holds the lease for a minute (and never releases it): set on the master that serves its slot.
      let owner: number | undefined;
      for (const m of await masters(state.ports[0]!)) {
        if ((await rawCommand(m.port, ['SET', lock, 'someone-else', 'PX', '60000'])).startsWith('+OK')) owner = m.port;
      }
      expect(owner).toBeDefined();
      const rows = Int32Array.from([1, 2]);
      const grads = new Float32Array(4).fill(0.5);
      const step = t.applyOptimizer(rows, grads, { kind: 'rmsprop' });
      await expect(step).rejects.toSatisfy(
        (e) => RedisUnavailableError.isInstance(e) && (e as Error).message.includes(lock) && /1500 ms/.test((e as Error).message),
      );
      expect(Array.from(await t.readRows(rows))).toEqual([0, 0, 0, 0]);
      // SGD does not take the lease.
      await t.applyOptimizer(rows, grads, { kind: 'sgd', learning_rate: 0.5 });
      expect(Array.from(await t.readRows(rows))).toEqual([-0.25, -0.25, -0.25, -0.25]);
      // Once the lease is gone, RMSprop steps run (first step: v = 0.1 g^2, w = -lr g / sqrt(v + eps)).
      expect(await rawCommand(owner!, ['DEL', lock])).toContain(':1');
      await t.applyOptimizer(rows, grads, { kind: 'rmsprop' });
      const expected = Math.fround(-0.25 + Math.fround(-((0.001 * 0.5) / Math.sqrt(Math.fround(0.1 * 0.25) + 1e-7))));
      expect(Array.from(await t.readRows(rows))).toEqual([expected, expected, expected, expected]);
      await t.drop();
      await t.close();
    }, 60_000);

    it('a master killed during lookups gives RedisUnavailableError naming it, then lookups and training resume after failover, with acknowledged updates kept', async () => {
      const state = cluster.get();
      const nodes = state.seeds;
      const table = uniqueTable('failover');
      const backend = createRedisBackend({ nodes, table, blockRows: 16, timeoutMs: 1500, dropOnDispose: true });
      const layer = await Embedding.create({ inputDim: 1000, outputDim: 8, seed: 3 }, { backend });
      // An acknowledged update (WAIT for the replica) before the fault.
      await layer.applyGradients([5], new Float32Array(8).fill(1), { learningRate: 0.5 });
      const expected = (await layer.getWeights())[0]!;
      const indices = Array.from({ length: 1000 }, (_, i) => i);
      const check = (data: Float32Array) => expect(data).toEqual(expected);
      check((await layer.predict(indices)).data);
      // Kill (SIGKILL) the master that serves at least one block of the table: every master does, with 63 blocks.
      const victim = (await masters(state.ports[0]!)).find((m) => m.slots > 0)!;
      const pid = state.pids[String(victim.port)]!;
      process.kill(pid, 'SIGKILL');
      let failure: unknown = null;
      let resumed = false;
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        try {
          const out = await layer.predict(indices);
          check(out.data); // a lookup that returns is complete and right
          if (failure) {
            resumed = true;
            break;
          }
        } catch (error) {
          failure ??= error;
          if (!RedisUnavailableError.isInstance(error)) throw error;
          await sleep(200);
        }
      }
      expect(RedisUnavailableError.isInstance(failure)).toBe(true);
      expect((failure as RedisUnavailableError).nodes).toContain(`127.0.0.1:${victim.port}`);
      expect((failure as Error).message).toContain(`127.0.0.1:${victim.port}`);
      expect(resumed).toBe(true);
      // Training resumes too.
      let trained = false;
      while (!trained && Date.now() < end) {
        try {
          await layer.applyGradients([6], new Float32Array(8).fill(1), { learningRate: 0.5 });
          trained = true;
        } catch (error) {
          if (!RedisUnavailableError.isInstance(error)) throw error;
          await sleep(200);
        }
      }
      expect(trained).toBe(true);
      const after = (await layer.getWeights())[0]!;
      for (let i = 0; i < 8; i++) expect(after[6 * 8 + i]).toBe(Math.fround(expected[6 * 8 + i]! - 0.5));
      after.fill(0, 6 * 8, 7 * 8);
      const before = expected.slice();
      before.fill(0, 6 * 8, 7 * 8);
      expect(after).toEqual(before); // the update acknowledged before the kill (row 5) survived the failover
      await layer.dispose();
    }, 120_000);

    it('setWeights while lookups run: every lookup sees the old table or the new one, never a mix', async () => {
      const nodes = cluster.get().seeds;
      const table = uniqueTable('versions');
      const rows = 4000;
      const writer = await Embedding.create(
        { inputDim: rows, outputDim: 4, embeddingsInitializer: 'ones' },
        { backend: createRedisBackend({ nodes, table, blockRows: 8, dropOnDispose: true }) },
      );
      const reader = await Embedding.create(
        { inputDim: rows, outputDim: 4 },
        { backend: createRedisBackend({ nodes, table, blockRows: 8 }) },
      );
      const all = Array.from({ length: rows }, (_, i) => i);
      let writing = true;
      const writes = (async () => {
        for (let k = 0; k < 6; k++) await writer.setWeights([new Float32Array(rows * 4).fill(k % 2 === 0 ? 2 : 1)]);
        writing = false;
      })();
      const seen = new Set<number>();
      let lookups = 0;
      while (writing || lookups < 3) {
        const out = (await reader.predict(all)).data;
        const first = out[0]!;
        // One version per lookup: every value equals the first.
        expect(out.every((v) => v === first)).toBe(true);
        seen.add(first);
        lookups++;
      }
      await writes;
      expect([...seen].every((v) => v === 1 || v === 2)).toBe(true);
      expect(lookups).toBeGreaterThan(3);
      await reader.dispose();
      await writer.dispose();
    }, 120_000);

    it('resharding while lookups run keeps every lookup correct', async () => {
      const state = cluster.get();
      const nodes = state.seeds;
      const table = uniqueTable('reshard');
      // 5,000 blocks of 4 rows: blocks share hash tags (block % 1024), so batches use both HMGET and el_gather.
      const rowsTotal = 20_000;
      const backend = createRedisBackend({ nodes, table, blockRows: 4, dropOnDispose: true });
      const layer = await Embedding.create({ inputDim: rowsTotal, outputDim: 8, seed: 11 }, { backend });
      const expected = (await layer.getWeights())[0]!;
      const live = await masters(state.ports.find((p) => state.pids[String(p)] && isAlive(state.pids[String(p)]!))!);
      const [from, to] = [...live].sort((a, b) => b.slots - a.slots);
      const args = [
        '--cluster',
        'reshard',
        `127.0.0.1:${to!.port}`,
        '--cluster-from',
        from!.id,
        '--cluster-to',
        to!.id,
        '--cluster-slots',
        '1000',
        '--cluster-yes',
      ];
      const reshard = new Promise<number>((resolve) =>
        spawn('redis-cli', args, { stdio: 'ignore' }).on('exit', (code) => resolve(code ?? -1)),
      );
      let finished = false;
      void reshard.then(() => {
        finished = true;
      });
      let lookups = 0;
      let seed = 1;
      while (!finished || lookups < 5) {
        const batch = Array.from({ length: 1024 }, () => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % rowsTotal;
        });
        const out = await layer.predict(batch);
        for (let i = 0; i < batch.length; i++)
          expect(out.data.subarray(i * 8, (i + 1) * 8)).toEqual(expected.subarray(batch[i]! * 8, (batch[i]! + 1) * 8));
        lookups++;
      }
      expect(await reshard).toBe(0);
      const after = await masters(to!.port);
      expect(after.find((m) => m.id === to!.id)!.slots).toBe(to!.slots + 1000);
      expect(lookups).toBeGreaterThan(5);
      console.log(`resharding 1000 slots: ${lookups} lookups of 1024 rows during it, all correct`);
      await layer.dispose();
    }, 180_000);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
