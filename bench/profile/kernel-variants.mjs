#!/usr/bin/env node
// The kernel variants measured against the committed kernel and torch in bench/results/profile.md
// ("The kernel against torch's gather"): writes core's wasm/kernel.wat plus every variant below,
// each an export with the kernel's signature (table, ids, n, rowBytes, out), to one .wat file
// for bench/profile/kernel-vs-torch.mjs:
//   node bench/profile/kernel-variants.mjs [out.wat]          (default $TMPDIR/kernel-variants.wat)
//   node bench/profile/kernel-vs-torch.mjs M 41 /tmp/kernel-variants.wat:f512x4t8 ...
// Names: g<C>x<R> R rows interleaved, C bytes of each per iteration (the committed gather64x4 is
// g64x4); gr<C>x<R> R rows per group, each row copied whole, C bytes per iteration; r<C> rows one
// at a time; f<W>x<R> fixed row width W bytes, fully unrolled, stores at immediate offsets; t<D>
// touches (loads into a sink) the first line of each row D rows ahead, T<D> every line; lane
// 16 bytes of each row in turn; lf all loads of an iteration before its stores. A variant is
// valid only for rowBytes a multiple of its C or equal to its W; the probe checks every subject
// against a JS gather before timing. readOnly, writeOnly and seqCopy are bounds, not gathers
// (pass them with :nocheck).
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const target = process.argv[2] ?? join(tmpdir(), 'kernel-variants.wat');
const base = readFileSync(new URL('../../packages/core/wasm/kernel.wat', import.meta.url), 'utf8')
  .trimEnd()
  .replace(/\)\s*$/, '');
const P = '(param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)';
const range = (n) => Array.from({ length: n }, (_, i) => i);
// generic: R rows interleaved, C bytes of each per iteration, rowBytes % C == 0 (C multiple of 16)
// touch: distance in rows ahead (0 = none), touching the first line of each row of the group that far ahead
// order: 'row' (all of row j's C bytes, then row j+1) or 'lane' (16 B of each row, then next 16 B)
// loadsFirst: load all R*C/16 vectors into locals then store
function generic(name, R, C, { touch = 0, touchAll = 0, order = 'row', loadsFirst = false } = {}) {
  const V = C / 16;
  const L = [];
  L.push(`  (func (export "${name}") ${P}`);
  L.push(`    (local $endR i32) (local $stop i32) (local $sink i32) (local $last i32) (local $a i32)`);
  L.push(
    '    ' +
      range(R)
        .map((j) => `(local $s${j} i32) (local $o${j} i32) (local $t${j} i32)`)
        .join(' '),
  );
  if (loadsFirst)
    L.push(
      '    ' +
        range(R * V)
          .map((k) => `(local $v${k} v128)`)
          .join(' '),
    );
  L.push(
    `    (local.set $endR (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.rem_u (local.get $n) (i32.const ${R}))) (i32.const 2))))`,
  );
  L.push(`    (local.set $last (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2))))`);
  L.push(`    (block $done (loop $groups`);
  L.push(`      (br_if $done (i32.ge_u (local.get $ids) (local.get $endR)))`);
  if (touch) {
    for (const j of range(R)) {
      L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * (touch + j)})))`);
      L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
      L.push(
        `      (local.set $sink (i32.xor (local.get $sink) (i32.load (i32.add (local.get $table) (i32.mul (i32.load (local.get $a)) (local.get $rowBytes))))))`,
      );
    }
  }
  if (touchAll) {
    for (const j of range(R)) {
      L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * (touchAll + j)})))`);
      L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
      L.push(`      (local.set $t${j} (i32.add (local.get $table) (i32.mul (i32.load (local.get $a)) (local.get $rowBytes))))`);
    }
  }
  for (const j of range(R))
    L.push(
      `      (local.set $s${j} (i32.add (local.get $table) (i32.mul (i32.load offset=${4 * j} (local.get $ids)) (local.get $rowBytes))))`,
    );
  L.push(`      (local.set $o0 (local.get $out))`);
  for (const j of range(R).slice(1)) L.push(`      (local.set $o${j} (i32.add (local.get $o${j - 1}) (local.get $rowBytes)))`);
  L.push(`      (local.set $stop (local.get $o1))`);
  L.push(`      (loop $vec`);
  if (touchAll) {
    for (const j of range(R))
      for (const k of range(C / 64))
        L.push(`        (local.set $sink (i32.xor (local.get $sink) (i32.load offset=${64 * k} (local.get $t${j}))))`);
    for (const j of range(R)) L.push(`        (local.set $t${j} (i32.add (local.get $t${j}) (i32.const ${C})))`);
  }
  const pairs = [];
  if (order === 'row') for (const j of range(R)) for (const k of range(V)) pairs.push([j, k]);
  else for (const k of range(V)) for (const j of range(R)) pairs.push([j, k]);
  if (loadsFirst) {
    for (const [i, [j, k]] of pairs.entries()) L.push(`        (local.set $v${i} (v128.load offset=${16 * k} (local.get $s${j})))`);
    for (const [i, [j, k]] of pairs.entries()) L.push(`        (v128.store offset=${16 * k} (local.get $o${j}) (local.get $v${i}))`);
  } else
    for (const [j, k] of pairs)
      L.push(`        (v128.store offset=${16 * k} (local.get $o${j}) (v128.load offset=${16 * k} (local.get $s${j})))`);
  for (const j of range(R)) L.push(`        (local.set $s${j} (i32.add (local.get $s${j}) (i32.const ${C})))`);
  for (const j of range(R)) L.push(`        (local.set $o${j} (i32.add (local.get $o${j}) (i32.const ${C})))`);
  L.push(`        (br_if $vec (i32.lt_u (local.get $o0) (local.get $stop))))`);
  L.push(`      (local.set $out (local.get $o${R - 1}))`);
  L.push(`      (local.set $ids (i32.add (local.get $ids) (i32.const ${4 * R})))`);
  L.push(`      (br $groups)))`);
  L.push(`    (global.set $sink (i32.xor (global.get $sink) (local.get $sink)))`);
  L.push(
    `    (call $gather16 (local.get $table) (local.get $ids) (i32.rem_u (local.get $n) (i32.const ${R})) (local.get $rowBytes) (local.get $out)))`,
  );
  return L.join('\n');
}
// fixed width W bytes: R rows, fully unrolled, stores at immediate offsets from $out
function fixed(name, R, W, { touch = 0, touchAll = 0, order = 'row', lines = [0] } = {}) {
  const V = W / 16;
  const L = [];
  L.push(`  (func (export "${name}") ${P}`);
  L.push(`    (local $endR i32) (local $sink i32) (local $last i32) (local $a i32)`);
  L.push(
    '    ' +
      range(R)
        .map((j) => `(local $s${j} i32)`)
        .join(' '),
  );
  L.push(
    `    (local.set $endR (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.rem_u (local.get $n) (i32.const ${R}))) (i32.const 2))))`,
  );
  L.push(`    (local.set $last (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2))))`);
  L.push(`    (block $done (loop $groups`);
  L.push(`      (br_if $done (i32.ge_u (local.get $ids) (local.get $endR)))`);
  if (touch) {
    for (const j of range(R)) {
      L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * (touch + j)})))`);
      L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
      L.push(`      (local.set $a (i32.add (local.get $table) (i32.mul (i32.load (local.get $a)) (i32.const ${W}))))`);
      for (const off of lines) L.push(`      (local.set $sink (i32.xor (local.get $sink) (i32.load offset=${off} (local.get $a))))`);
    }
  }
  if (touchAll) {
    for (const j of range(R)) {
      L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * (touchAll + j)})))`);
      L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
      L.push(`      (local.set $a (i32.add (local.get $table) (i32.shl (i32.load (local.get $a)) (i32.const ${Math.log2(W)}))))`);
      for (const k of range(W / 64))
        L.push(`      (local.set $sink (i32.xor (local.get $sink) (i32.load offset=${64 * k} (local.get $a))))`);
    }
  }
  for (const j of range(R))
    L.push(
      `      (local.set $s${j} (i32.add (local.get $table) (i32.shl (i32.load offset=${4 * j} (local.get $ids)) (i32.const ${Math.log2(W)}))))`,
    );
  const pairs = [];
  if (order === 'row') for (const j of range(R)) for (const k of range(V)) pairs.push([j, k]);
  else for (const k of range(V)) for (const j of range(R)) pairs.push([j, k]);
  for (const [j, k] of pairs)
    L.push(`      (v128.store offset=${j * W + 16 * k} (local.get $out) (v128.load offset=${16 * k} (local.get $s${j})))`);
  L.push(`      (local.set $out (i32.add (local.get $out) (i32.const ${R * W})))`);
  L.push(`      (local.set $ids (i32.add (local.get $ids) (i32.const ${4 * R})))`);
  L.push(`      (br $groups)))`);
  L.push(`    (global.set $sink (i32.xor (global.get $sink) (local.get $sink)))`);
  L.push(
    `    (call $gather16 (local.get $table) (local.get $ids) (i32.rem_u (local.get $n) (i32.const ${R})) (local.get $rowBytes) (local.get $out)))`,
  );
  return L.join('\n');
}
// rows one after another (row order), C bytes per iteration, touching the first line of row i+touch
function rowOrder(name, C, { touch = 0 } = {}) {
  const L = [];
  L.push(`  (func (export "${name}") ${P}`);
  L.push(`    (local $end i32) (local $s i32) (local $e i32) (local $sink i32) (local $last i32) (local $a i32)`);
  L.push(`    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $n) (i32.const 2))))`);
  L.push(`    (local.set $last (i32.sub (local.get $end) (i32.const 4)))`);
  L.push(`    (block $done (loop $rows`);
  L.push(`      (br_if $done (i32.ge_u (local.get $ids) (local.get $end)))`);
  if (touch) {
    L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * touch})))`);
    L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
    L.push(
      `      (local.set $sink (i32.xor (local.get $sink) (i32.load (i32.add (local.get $table) (i32.mul (i32.load (local.get $a)) (local.get $rowBytes))))))`,
    );
  }
  L.push(`      (local.set $s (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes))))`);
  L.push(`      (local.set $e (i32.add (local.get $s) (local.get $rowBytes)))`);
  L.push(`      (loop $vec`);
  for (let k = 0; k < C / 16; k++)
    L.push(`        (v128.store offset=${16 * k} (local.get $out) (v128.load offset=${16 * k} (local.get $s)))`);
  L.push(`        (local.set $s (i32.add (local.get $s) (i32.const ${C})))`);
  L.push(`        (local.set $out (i32.add (local.get $out) (i32.const ${C})))`);
  L.push(`        (br_if $vec (i32.lt_u (local.get $s) (local.get $e))))`);
  L.push(`      (local.set $ids (i32.add (local.get $ids) (i32.const 4)))`);
  L.push(`      (br $rows)))`);
  L.push(`    (global.set $sink (i32.xor (global.get $sink) (local.get $sink))))`);
  return L.join('\n');
}
// R rows per group, each row copied whole (a loop of C bytes per iteration) before the next; touch
// the first line of each row of the group `touch` rows ahead
function groupRows(name, R, C, { touch = 0 } = {}) {
  const L = [];
  L.push(`  (func (export "${name}") ${P}`);
  L.push(`    (local $endR i32) (local $sink i32) (local $last i32) (local $a i32) (local $s i32) (local $e i32)`);
  L.push(
    '    ' +
      range(R)
        .map((j) => `(local $s${j} i32)`)
        .join(' '),
  );
  L.push(
    `    (local.set $endR (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.rem_u (local.get $n) (i32.const ${R}))) (i32.const 2))))`,
  );
  L.push(`    (local.set $last (i32.add (local.get $ids) (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2))))`);
  L.push(`    (block $done (loop $groups`);
  L.push(`      (br_if $done (i32.ge_u (local.get $ids) (local.get $endR)))`);
  if (touch) {
    for (const j of range(R)) {
      L.push(`      (local.set $a (i32.add (local.get $ids) (i32.const ${4 * (touch + j)})))`);
      L.push(`      (local.set $a (select (local.get $a) (local.get $last) (i32.lt_u (local.get $a) (local.get $last))))`);
      L.push(
        `      (local.set $sink (i32.xor (local.get $sink) (i32.load (i32.add (local.get $table) (i32.mul (i32.load (local.get $a)) (local.get $rowBytes))))))`,
      );
    }
  }
  for (const j of range(R))
    L.push(
      `      (local.set $s${j} (i32.add (local.get $table) (i32.mul (i32.load offset=${4 * j} (local.get $ids)) (local.get $rowBytes))))`,
    );
  for (const j of range(R)) {
    L.push(`      (local.set $s (local.get $s${j}))`);
    L.push(`      (local.set $e (i32.add (local.get $s) (local.get $rowBytes)))`);
    L.push(`      (loop $vec${j}`);
    for (let k = 0; k < C / 16; k++)
      L.push(`        (v128.store offset=${16 * k} (local.get $out) (v128.load offset=${16 * k} (local.get $s)))`);
    L.push(`        (local.set $s (i32.add (local.get $s) (i32.const ${C})))`);
    L.push(`        (local.set $out (i32.add (local.get $out) (i32.const ${C})))`);
    L.push(`        (br_if $vec${j} (i32.lt_u (local.get $s) (local.get $e))))`);
  }
  L.push(`      (local.set $ids (i32.add (local.get $ids) (i32.const ${4 * R})))`);
  L.push(`      (br $groups)))`);
  L.push(`    (global.set $sink (i32.xor (global.get $sink) (local.get $sink)))`);
  L.push(
    `    (call $gather16 (local.get $table) (local.get $ids) (i32.rem_u (local.get $n) (i32.const ${R})) (local.get $rowBytes) (local.get $out)))`,
  );
  return L.join('\n');
}
// bounds: reads only (one i32 per 64-byte line of each row, 4 rows interleaved), writes only (sequential v128 stores)
const bounds = `
  (func (export "readOnly") ${P}
    (local $end i32) (local $s i32) (local $e i32) (local $sink i32)
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $ids) (local.get $end)))
      (local.set $s (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes))))
      (local.set $e (i32.add (local.get $s) (local.get $rowBytes)))
      (loop $l
        (local.set $sink (i32.add (local.get $sink) (i32.load (local.get $s))))
        (local.set $s (i32.add (local.get $s) (i32.const 64)))
        (br_if $l (i32.lt_u (local.get $s) (local.get $e))))
      (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
      (br $rows)))
    (global.set $sink (local.get $sink)))
  (func (export "writeOnly") ${P}
    (local $end i32) (local $v v128)
    (local.set $v (v128.load (local.get $table)))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $n) (local.get $rowBytes))))
    (block $done (loop $w
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (v128.store offset=0 (local.get $out) (local.get $v))
      (v128.store offset=16 (local.get $out) (local.get $v))
      (v128.store offset=32 (local.get $out) (local.get $v))
      (v128.store offset=48 (local.get $out) (local.get $v))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (br $w))))
  (func (export "seqCopy") ${P}
    ;; sequential copy of n*rowBytes from table start (no gather): the copy limit inside wasm
    (local $end i32) (local $s i32)
    (local.set $s (local.get $table))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $n) (local.get $rowBytes))))
    (block $done (loop $w
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (v128.store offset=0 (local.get $out) (v128.load offset=0 (local.get $s)))
      (v128.store offset=16 (local.get $out) (v128.load offset=16 (local.get $s)))
      (v128.store offset=32 (local.get $out) (v128.load offset=32 (local.get $s)))
      (v128.store offset=48 (local.get $out) (v128.load offset=48 (local.get $s)))
      (local.set $s (i32.add (local.get $s) (i32.const 64)))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (br $w))))
`;
const fns = [
  generic('g64x4', 4, 64),
  generic('g64x8', 8, 64),
  generic('g64x2', 2, 64),
  generic('g128x4', 4, 128),
  generic('g64x4lane', 4, 64, { order: 'lane' }),
  generic('g64x4lf', 4, 64, { loadsFirst: true }),
  ...[4, 8, 16, 32].map((t) => generic(`g64x4t${t}`, 4, 64, { touch: t })),
  ...[8, 16, 32].map((t) => generic(`g64x8t${t}`, 8, 64, { touch: t })),
  ...[4, 8, 16, 32].map((t) => generic(`g64x4T${t}`, 4, 64, { touchAll: t })),
  ...[4, 8, 16, 32].map((t) => fixed(`f512x4T${t}`, 4, 512, { touchAll: t })),
  ...[8, 16].map((t) => fixed(`f512x2T${t}`, 2, 512, { touchAll: t })),
  fixed('f512x4', 4, 512),
  ...[0, 8, 16].map((t) => groupRows(`gr64x4t${t}`, 4, 64, { touch: t })),
  ...[8].map((t) => groupRows(`gr128x4t${t}`, 4, 128, { touch: t })),
  ...[8, 16, 32, 64].map((t) => groupRows(`gr256x4t${t}`, 4, 256, { touch: t })),
  fixed('f512x4t8L2', 4, 512, { touch: 8, lines: [0, 256] }),
  fixed('f512x4t8L4', 4, 512, { touch: 8, lines: [0, 128, 256, 384] }),
  fixed('f512x4t16L2', 4, 512, { touch: 16, lines: [0, 256] }),
  fixed('f512x4lanet8', 4, 512, { touch: 8, order: 'lane' }),
  fixed('f1024x4lanet8', 4, 1024, { touch: 8, order: 'lane' }),
  fixed('f1024x4t8L4', 4, 1024, { touch: 8, lines: [0, 256, 512, 768] }),
  ...[0, 4, 8, 16].map((t) => rowOrder(`r64t${t}`, 64, { touch: t })),
  ...[0, 8, 16].map((t) => rowOrder(`r128t${t}`, 128, { touch: t })),
  ...[12, 24, 32, 48, 64].map((t) => fixed(`f512x4t${t}`, 4, 512, { touch: t })),
  ...[8, 16].map((t) => fixed(`f512x1t${t}`, 1, 512, { touch: t })),
  ...[8, 16].map((t) => fixed(`f256x4t${t}`, 4, 256, { touch: t })),
  ...[8, 16].map((t) => fixed(`f1024x1t${t}`, 1, 1024, { touch: t })),
  fixed('f512x2', 2, 512),
  fixed('f512x4lane', 4, 512, { order: 'lane' }),
  ...[4, 8, 16].map((t) => fixed(`f512x4t${t}`, 4, 512, { touch: t })),
  fixed('f256x4', 4, 256),
  fixed('f256x8', 8, 256),
  fixed('f1024x2', 2, 1024),
  fixed('f1024x4', 4, 1024),
  bounds,
];
// The kernel declares $sink (gather64r4's touch-ahead loads); older kernels did not.
const sink = base.includes('(global $sink') ? '' : '\n  (global $sink (mut i32) (i32.const 0))';
writeFileSync(target, `${base}${sink}\n${fns.join('\n')}\n)\n`);
console.log(`wrote ${target} (${fns.length} entries)`);
