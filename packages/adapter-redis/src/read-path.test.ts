import { createJsBackend } from '@embedding-layer/adapter-js';
import { Embedding } from '@embedding-layer/core';
import { describe, expect, it } from 'vitest';
import { rawCommand } from '../../../scripts/redis-cluster.mjs';
import { createRedisBackend } from './index.js';
import { distinctRows } from './redis-backend.js';
import { requireRedis, uniqueTable, useRedis } from './testing.js';

describe('adapter-redis: distinct rows of a batch', () => {
  it('finds each distinct row once, in order of first use, and where every index points', () => {
    // Rows that differ only in high bits (multiples of 2^20) would all collide in a hash of the low bits.
    const data = Int32Array.from([5, 2 ** 20, 3 * 2 ** 20, 5, 0, 2 ** 20, 2 ** 31 - 1, 0, 7 * 2 ** 20, 2 ** 31 - 1, 5]);
    const { rows, where } = distinctRows(data);
    // Independently, with a Map.
    const seen = new Map<number, number>();
    const expectedWhere: number[] = [];
    for (const r of data) {
      if (!seen.has(r)) seen.set(r, seen.size);
      expectedWhere.push(seen.get(r)!);
    }
    expect(Array.from(rows)).toEqual([...seen.keys()]);
    expect(Array.from(where)).toEqual(expectedWhere);
    const many = Int32Array.from({ length: 50_000 }, (_, i) => ((i * 7919) % 12_345) * 1024);
    const big = distinctRows(many);
    expect(big.rows.length).toBe(new Set(many).size);
    for (let i = 0; i < many.length; i += 997) expect(big.rows[big.where[i]!]).toBe(many[i]);
  });
});

/** The integer of a RESP `:n` reply, or the text of a `$n` bulk reply (rawCommand returns the raw reply). */
function replyValue(raw: string): string {
  if (raw.startsWith(':') || raw.startsWith('+')) return raw.slice(1).trim();
  if (raw.startsWith('$')) return raw.split('\r\n')[1] ?? '';
  throw new Error(`unexpected reply ${JSON.stringify(raw.slice(0, 200))}`);
}

/** Masters `{ id, port, ranges }` of the cluster, from CLUSTER NODES. */
async function masters(port: number): Promise<{ id: string; port: number; ranges: [number, number][] }[]> {
  const text = await rawCommand(port, ['CLUSTER', 'NODES']);
  return text
    .split('\n')
    .filter((l) => (l.split(' ')[2] ?? '').split(',').includes('master'))
    .map((l) => {
      const f = l.trim().split(' ');
      const ranges = f
        .slice(8)
        .filter((r) => !r.startsWith('['))
        .map((r) => {
          const [a, b] = r.split('-').map(Number);
          return [a!, b ?? a!] as [number, number];
        });
      return { id: f[0]!.replace(/^.*\$/, ''), port: Number(f[1]!.split(':')[1]!.split('@')[0]), ranges };
    });
}

/** How many TRYAGAIN replies the node at `port` has sent (INFO errorstats). */
async function tryagainCount(port: number): Promise<number> {
  const info = await rawCommand(port, ['INFO', 'errorstats']);
  return Number(/errorstat_TRYAGAIN:count=(\d+)/.exec(info)?.[1] ?? 0);
}

if (requireRedis()) {
  const cluster = useRedis({ basePort: 30801, masters: 3, replicas: 0 });

  describe('adapter-redis: lookups while a slot migrates (local 3-master cluster)', () => {
    it('a lookup of blocks of one hash tag, half of them migrated, gets TRYAGAIN from el_gather, falls back to HMGET per block, and stays correct', async () => {
      const state = cluster.get();
      const port = state.ports[0]!;
      const table = uniqueTable('migrate');
      const config = { inputDim: 20_000, outputDim: 8, seed: 5 };
      // 5,000 blocks of 4 rows: blocks b and b + 1024k share a hash tag, so a batch that touches
      // several of them reads them with one el_gather call (a multi-key call).
      const layer = await Embedding.create(config, {
        backend: createRedisBackend({ nodes: state.seeds, table, blockRows: 4, dropOnDispose: true }),
      });
      const reference = await Embedding.create(config, { backend: createJsBackend() });
      const list = await masters(port);
      const ownerOf = (slot: number) => list.find((m) => m.ranges.some(([a, b]) => slot >= a && slot <= b))!;
      const metaKey = `el:{${table}}:meta`;
      const version = replyValue(
        await rawCommand(ownerOf(Number(replyValue(await rawCommand(port, ['CLUSTER', 'KEYSLOT', metaKey])))).port, [
          'HGET',
          metaKey,
          'version',
        ]),
      );
      expect(version).toMatch(/^\d+$/);
      const tag = `${table}/${version}/7`;
      const slot = Number(replyValue(await rawCommand(port, ['CLUSTER', 'KEYSLOT', tag])));
      const from = ownerOf(slot);
      const to = list.find((m) => m.id !== from.id)!;
      const blocks = [7, 1031, 2055, 3079, 4103];
      const keys = blocks.map((b) => `el:{${tag}}:w:${b}`);
      for (const key of keys) expect(replyValue(await rawCommand(from.port, ['EXISTS', key]))).toBe('1');

      // Half-way through a migration of the slot: two of its five blocks are on the new node.
      expect(await rawCommand(to.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id])).toContain('OK');
      expect(await rawCommand(from.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id])).toContain('OK');
      expect(await rawCommand(from.port, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', keys[1]!, keys[3]!])).toContain(
        'OK',
      );
      // The old owner now redirects a moved block with ASK.
      expect(await rawCommand(from.port, ['EXISTS', keys[1]!])).toMatch(/^-ASK /);

      // Rows of all five blocks (with duplicates), and rows elsewhere.
      const indices = [...blocks.flatMap((b) => [4 * b, 4 * b + 3, 4 * b + 1]), 4 * 1031 + 2, 4 * 7, 19_999, 0, 12_345];
      const before = await tryagainCount(from.port);
      const out = await layer.predict([indices]);
      const after = await tryagainCount(from.port);
      // The multi-key call was refused with TRYAGAIN (at least once), and the result is still right.
      expect(after).toBeGreaterThan(before);
      expect(out.data).toEqual((await reference.predict([indices])).data);

      // The migration finishes: every lookup is still right (the client follows MOVED).
      expect(
        await rawCommand(from.port, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', keys[0]!, keys[2]!, keys[4]!]),
      ).toContain('OK');
      for (const m of list) expect(await rawCommand(m.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id])).toContain('OK');
      expect((await layer.predict([indices])).data).toEqual((await reference.predict([indices])).data);
      await layer.dispose();
      await reference.dispose();
    }, 120_000);
  });
}
