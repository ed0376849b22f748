#!/usr/bin/env node
// Where a workload-M batch's time goes on adapter-redis (issue 15): raw read designs against
// the same local cluster, each timed per batch (wall), with the client's CPU time and the
// masters' CPU time (INFO cpu deltas) per batch. Not a test; numbers depend on the machine.
//   node bench/redis-profile.mjs <seed nodes> [--batches 20] [--only hmget,raw,...] [--resp3]
// (e.g. after `node scripts/redis-cluster.mjs start --base-port 30701`; results and their
// reading: bench/results/redis-profile.md). It writes keys `prof:*` and a Functions library
// `el_prof`, and deletes both at the end.
import os from 'node:os';
import { createCluster, RESP_TYPES } from '@redis/client';

const args = process.argv.slice(2);
const nodes = args[0].split(',').map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) }));
const BATCHES = Number(args[args.indexOf('--batches') + 1]) || 20;
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const N = 50_000;
const D = 128;
const RB = D * 4;
const BLOCK = 1024;
const BLOCKS = Math.ceil(N / BLOCK);

const LIB = `#!lua name=el_prof
local function rows_of(packed, from, n)
  local names = {}
  local i = 0
  while i < n do
    local k = math.min(200, n - i)
    local vals = { struct.unpack('<' .. string.rep('I4', k), packed, from + 4 * i) }
    for j = 1, k do names[i + j] = vals[j] end
    i = i + k
  end
  return names
end
-- hash blocks: keys[1] routes; args: counts (u32 per block), rows (u32), block keys...
local function g_hash(keys, args)
  local counts, fields = args[1], args[2]
  local out = {}
  local pos = 0
  for k = 3, #args do
    local n = struct.unpack('<I4', counts, (k - 3) * 4 + 1)
    local names = rows_of(fields, pos * 4 + 1, n)
    pos = pos + n
    local rows = redis.call('HMGET', args[k], unpack(names))
    for i = 1, n do out[#out + 1] = rows[i] end
  end
  return table.concat(out)
end
-- blob blocks, GET + string.sub
local function g_blob_sub(keys, args)
  local rb = tonumber(args[1])
  local counts, fields = args[2], args[3]
  local out = {}
  local pos = 0
  for k = 4, #args do
    local n = struct.unpack('<I4', counts, (k - 4) * 4 + 1)
    local names = rows_of(fields, pos * 4 + 1, n)
    pos = pos + n
    local blob = redis.call('GET', args[k])
    for i = 1, n do local s = names[i] * rb; out[#out + 1] = string.sub(blob, s + 1, s + rb) end
  end
  return table.concat(out)
end
-- blob blocks, GETRANGE per row
local function g_blob_range(keys, args)
  local rb = tonumber(args[1])
  local counts, fields = args[2], args[3]
  local out = {}
  local pos = 0
  for k = 4, #args do
    local n = struct.unpack('<I4', counts, (k - 4) * 4 + 1)
    local names = rows_of(fields, pos * 4 + 1, n)
    pos = pos + n
    for i = 1, n do local s = names[i] * rb; out[#out + 1] = redis.call('GETRANGE', args[k], s, s + rb - 1) end
  end
  return table.concat(out)
end
redis.register_function{ function_name = 'p_hash', callback = g_hash, flags = { 'no-writes', 'allow-cross-slot-keys' } }
redis.register_function{ function_name = 'p_blob_sub', callback = g_blob_sub, flags = { 'no-writes', 'allow-cross-slot-keys' } }
redis.register_function{ function_name = 'p_blob_range', callback = g_blob_range, flags = { 'no-writes', 'allow-cross-slot-keys' } }
`;

function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
const rnd = xorshift(7);
const table = new Float32Array(N * D);
for (let i = 0; i < table.length; i++) table[i] = rnd() - 0.5;
const batches = Array.from({ length: BATCHES + 2 }, () => {
  const seen = new Set();
  for (let i = 0; i < 16_384; i++) seen.add(Math.floor(rnd() * N));
  return Int32Array.from(seen);
});

const opts = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };
const RESP = args.includes('--resp3') ? 3 : 2;
const cluster = createCluster({ rootNodes: nodes.map((n) => ({ socket: n })), defaults: { RESP }, commandOptions: opts });
await cluster.connect();
const masters = cluster.masters;
for (const m of masters) {
  const c = await cluster.nodeClient(m);
  await c.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', LIB]);
}
const hkey = (b) => `prof:{h${b}}:w`;
const skey = (b) => `prof:{s${b}}:w`;
// Write both layouts.
for (let b = 0; b < BLOCKS; b++) {
  const from = b * BLOCK;
  const to = Math.min(N, from + BLOCK);
  const bytes = Buffer.from(table.buffer, from * RB, (to - from) * RB);
  const hset = ['HSET', hkey(b)];
  for (let r = from; r < to; r++) hset.push(String(r - from), bytes.subarray((r - from) * RB, (r - from + 1) * RB));
  await cluster.sendCommand(hkey(b), false, hset);
  await cluster.sendCommand(skey(b), false, ['SET', skey(b), bytes]);
}
const nodeOfKey = (key) => {
  // node-redis exposes the slot table; key slot via CLUSTER KEYSLOT is slow, so compute crc16 here.
  return cluster.slots[slot(key)].master;
};

function crc16(buf) {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function slot(key) {
  const s = key.indexOf('{');
  let k = key;
  if (s >= 0) {
    const e = key.indexOf('}', s + 1);
    if (e > s + 1) k = key.slice(s + 1, e);
  }
  return crc16(Buffer.from(k)) % 16384;
}

async function serverCpu() {
  let t = 0;
  for (const m of masters) {
    const c = await cluster.nodeClient(m);
    const info = String(await c.sendCommand(['INFO', 'cpu']));
    t += Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
  }
  return t;
}

/** Groups sorted distinct rows by block. */
function byBlock(rows) {
  const sorted = Int32Array.from(rows).sort();
  const groups = new Map();
  for (const r of sorted) {
    const b = Math.floor(r / BLOCK);
    const g = groups.get(b);
    if (g) g.push(r);
    else groups.set(b, [r]);
  }
  return { sorted, groups };
}

function check(rows, out) {
  for (let k = 0; k < rows.length; k += 97) {
    for (let c = 0; c < D; c++) if (out[k * D + c] !== table[rows[k] * D + c]) throw new Error(`wrong value at row ${rows[k]}`);
  }
}

const designs = {
  /** One HMGET per block (the adapter's current read), replies parsed as Buffer per row. */
  async hmget(rows) {
    const { sorted, groups } = byBlock(rows);
    const out = new Float32Array(sorted.length * D);
    const bytes = new Uint8Array(out.buffer);
    let at = 0;
    const jobs = [];
    for (const [b, list] of groups) {
      const start = at;
      at += list.length;
      const key = hkey(b);
      jobs.push(
        cluster.sendCommand(key, true, ['HMGET', key, ...list.map((r) => String(r - b * BLOCK))]).then((reply) => {
          for (let j = 0; j < reply.length; j++) bytes.set(reply[j], (start + j) * RB);
        }),
      );
    }
    await Promise.all(jobs);
    return { sorted, out };
  },
  /** One FCALL per node (allow-cross-slot-keys) over hash blocks, split in `parts` calls per node. */
  hash1: (rows) => perNode(rows, 'p_hash', hkey, 1, false),
  hash2: (rows) => perNode(rows, 'p_hash', hkey, 2, false),
  hash4: (rows) => perNode(rows, 'p_hash', hkey, 4, false),
  blobsub1: (rows) => perNode(rows, 'p_blob_sub', skey, 1, true),
  blobsub4: (rows) => perNode(rows, 'p_blob_sub', skey, 4, true),
  blobrange1: (rows) => perNode(rows, 'p_blob_range', skey, 1, true),
  /** HMGET per block on our own socket per master, replies parsed straight into the output. */
  raw: rawRead,
};

import { createConnection } from 'node:net';

const FIELD = Array.from({ length: BLOCK }, (_, i) => Buffer.from(`$${String(i).length}\r\n${i}\r\n`));
const sockets = new Map();
function socketOf(m) {
  let s = sockets.get(m);
  if (!s) {
    const sock = createConnection({ host: m.host, port: m.port });
    sock.setNoDelay(true);
    s = { sock, queue: [] };
    sock.on('data', (chunk) => {
      let pos = 0;
      while (pos < chunk.length && s.queue.length > 0) {
        const job = s.queue[0];
        pos = job.feed(chunk, pos);
        if (job.done) {
          s.queue.shift();
          job.resolve();
        }
      }
    });
    sockets.set(m, s);
  }
  return s;
}
/** A parser for `count` HMGET replies of rows of RB bytes, written to bytes at `at[k]` (row positions, in reply order). */
function rowsJob(bytes, at, resolve) {
  let k = 0; // next row
  let state = 0; // 0: expect header line, 1: in row body, 2: expect trailing CRLF
  let left = 0;
  let line = '';
  const job = {
    done: at.length === 0,
    resolve,
    feed(chunk, pos) {
      while (pos < chunk.length && k < at.length) {
        if (state === 0) {
          const nl = chunk.indexOf(10, pos);
          if (nl < 0) {
            line += chunk.toString('latin1', pos);
            return chunk.length;
          }
          line += chunk.toString('latin1', pos, nl - 1);
          pos = nl + 1;
          const c = line.charCodeAt(0);
          if (c === 42) {
            line = '';
            continue;
          } // *n
          if (c === 36) {
            const n = Number(line.slice(1));
            line = '';
            if (n !== RB) throw new Error('bad row');
            state = 1;
            left = RB;
            continue;
          }
          throw new Error(`reply ${line}`);
        } else if (state === 1) {
          const take = Math.min(left, chunk.length - pos);
          const dst = at[k] * RB + (RB - left);
          bytes.set(chunk.subarray(pos, pos + take), dst);
          pos += take;
          left -= take;
          if (left === 0) {
            state = 2;
            left = 2;
          }
        } else {
          const take = Math.min(left, chunk.length - pos);
          pos += take;
          left -= take;
          if (left === 0) {
            state = 0;
            k++;
          }
        }
      }
      if (k === at.length) job.done = true;
      return pos;
    },
  };
  return job;
}
async function rawRead(rows) {
  const { sorted, groups } = byBlock(rows);
  const out = new Float32Array(sorted.length * D);
  const bytes = new Uint8Array(out.buffer);
  const perMaster = new Map();
  let at = 0;
  for (const [b, list] of groups) {
    const m = nodeOfKey(hkey(b));
    if (!perMaster.has(m)) perMaster.set(m, []);
    perMaster.get(m).push([b, list, at]);
    at += list.length;
  }
  await Promise.all(
    [...perMaster].map(
      ([m, blocks]) =>
        new Promise((resolve) => {
          const parts = [];
          const pos = [];
          for (const [b, list, first] of blocks) {
            const key = hkey(b);
            parts.push(Buffer.from(`*${list.length + 2}\r\n$5\r\nHMGET\r\n$${key.length}\r\n${key}\r\n`));
            for (let j = 0; j < list.length; j++) {
              parts.push(FIELD[list[j] - b * BLOCK]);
              pos.push(first + j);
            }
          }
          const s = socketOf(m);
          s.queue.push(rowsJob(bytes, pos, resolve));
          s.sock.write(Buffer.concat(parts));
        }),
    ),
  );
  return { sorted, out };
}

async function perNode(rows, fn, keyOf, parts, withRb) {
  const { sorted, groups } = byBlock(rows);
  const out = new Float32Array(sorted.length * D);
  const bytes = new Uint8Array(out.buffer);
  // node -> list of [block, rows, first position]
  const perMaster = new Map();
  let at = 0;
  for (const [b, list] of groups) {
    const m = nodeOfKey(keyOf(b));
    if (!perMaster.has(m)) perMaster.set(m, []);
    perMaster.get(m).push([b, list, at]);
    at += list.length;
  }
  const jobs = [];
  for (const blocks of perMaster.values()) {
    const size = Math.ceil(blocks.length / parts);
    for (let p = 0; p < blocks.length; p += size) {
      const part = blocks.slice(p, p + size);
      const total = part.reduce((n, x) => n + x[1].length, 0);
      const counts = Buffer.alloc(part.length * 4);
      const fields = Buffer.alloc(total * 4);
      let f = 0;
      part.forEach(([b, list], k) => {
        counts.writeUInt32LE(list.length, k * 4);
        for (const r of list) fields.writeUInt32LE(r - b * BLOCK, 4 * f++);
      });
      const keys = part.map(([b]) => keyOf(b));
      const cmd = ['FCALL', fn, '1', keys[0], ...(withRb ? [String(RB)] : []), counts, fields, ...keys];
      // Positions: blocks in a part are contiguous in `sorted` only if the node's blocks are; copy per block.
      jobs.push(
        cluster.sendCommand(keys[0], true, cmd).then((reply) => {
          let pos = 0;
          for (const [, list, first] of part) {
            bytes.set(reply.subarray(pos, pos + list.length * RB), first * RB);
            pos += list.length * RB;
          }
        }),
      );
    }
  }
  await Promise.all(jobs);
  return { sorted, out };
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(
  `RESP${RESP}, load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const [name, run] of Object.entries(designs)) {
  if (ONLY && !ONLY.includes(name)) continue;
  await run(batches[1]);
  const first = await run(batches[0]);
  check(first.sorted, first.out);
  const s0 = await serverCpu();
  const c0 = process.cpuUsage();
  const times = [];
  let rows = 0;
  for (let i = 2; i < batches.length; i++) {
    const t = performance.now();
    await run(batches[i]);
    times.push(performance.now() - t);
    rows += batches[i].length;
  }
  const c1 = process.cpuUsage(c0);
  const s1 = await serverCpu();
  const total = times.reduce((a, b) => a + b, 0);
  console.log(
    `${name.padEnd(11)} ${Math.round(rows / (total / 1000))
      .toLocaleString('en-US')
      .padStart(
        9,
      )} rows/s  p50 ${pct(times, 0.5).toFixed(1)} ms  p99 ${pct(times, 0.99).toFixed(1)} ms  client CPU ${((c1.user + c1.system) / 1000 / times.length).toFixed(1)} (sys ${(c1.system / 1000 / times.length).toFixed(1)}) ms/batch  masters CPU ${(((s1 - s0) * 1000) / times.length).toFixed(1)} ms/batch  load ${os.loadavg()[0].toFixed(2)}`,
  );
}
for (let b = 0; b < BLOCKS; b++) {
  await cluster.sendCommand(hkey(b), false, ['UNLINK', hkey(b)]);
  await cluster.sendCommand(skey(b), false, ['UNLINK', skey(b)]);
}
for (const m of masters) await (await cluster.nodeClient(m)).sendCommand(['FUNCTION', 'DELETE', 'el_prof']);
await cluster.close();
for (const s of sockets.values()) s.sock.destroy();
