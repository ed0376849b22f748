;; The row-gather kernel of @embedding-layer/core/backend (used by adapter-js and adapter-tfjs).
;; Compiled by scripts/build-wasm.mjs (wabt) into src/kernel/generated/kernel-wasm.ts, twice: with
;; a plain and with a shared imported memory
;; (the line marked MEMORY is rewritten).
(module
  (import "env" "memory" (memory 1 65536)) ;; MEMORY
  ;; gather(table, ids, n, rowBytes, out): for i in [0, n):
  ;;   out[i * rowBytes .. +rowBytes] = table[ids[i] * rowBytes .. +rowBytes]
  ;; ids are n little-endian int32 row numbers at byte offset `ids`. Offsets are unsigned i32
  ;; byte addresses (the memory is at most 4 GiB). One bulk memory.copy per row.
  (func (export "gather") (param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $ids) (local.get $end)))
        (memory.copy
          (local.get $out)
          (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes)))
          (local.get $rowBytes))
        (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
        (br $rows))))

  ;; gather16: the same for rowBytes a multiple of 16, copying with 128-bit SIMD loads and
  ;; stores inline (no call per row, so the loads of consecutive rows overlap).
  (func $gather16 (export "gather16") (param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)
    (local $end i32) (local $src i32) (local $srcEnd i32)
    (local.set $end (i32.add (local.get $ids) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $ids) (local.get $end)))
        (local.set $src (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes))))
        (local.set $srcEnd (i32.add (local.get $src) (local.get $rowBytes)))
        (loop $vec
          (v128.store (local.get $out) (v128.load (local.get $src)))
          (local.set $out (i32.add (local.get $out) (i32.const 16)))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (br_if $vec (i32.lt_u (local.get $src) (local.get $srcEnd))))
        (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
        (br $rows))))
;; gather16x4: gather16 four rows at a time, their 16-byte pieces interleaved, so the cache
  ;; and TLB misses of four rows are in flight together (random rows from a large table are
  ;; bounded by memory latency, not bandwidth). Remaining rows go through gather16.
  ;; Rows whose width is a multiple of 64 bytes (16 floats: 64, 128, 256... wide) go to
  ;; gather64x4, which copies 64 bytes per row per iteration (measured 10-20% faster).
  (func (export "gather16x4") (param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)
    (local $end4 i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $off i32)
    (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (if (i32.eqz (i32.and (local.get $rowBytes) (i32.const 63)))
      (then
        (call $gather64x4 (local.get $table) (local.get $ids) (local.get $n) (local.get $rowBytes) (local.get $out))
        (return)))
    (local.set $end4 (i32.add (local.get $ids) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $ids) (local.get $end4)))
        (local.set $s0 (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes))))
        (local.set $s1 (i32.add (local.get $table) (i32.mul (i32.load offset=4 (local.get $ids)) (local.get $rowBytes))))
        (local.set $s2 (i32.add (local.get $table) (i32.mul (i32.load offset=8 (local.get $ids)) (local.get $rowBytes))))
        (local.set $s3 (i32.add (local.get $table) (i32.mul (i32.load offset=12 (local.get $ids)) (local.get $rowBytes))))
        (local.set $o1 (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $o2 (i32.add (local.get $o1) (local.get $rowBytes)))
        (local.set $o3 (i32.add (local.get $o2) (local.get $rowBytes)))
        (local.set $off (i32.const 0))
        (loop $vec
          (v128.store (i32.add (local.get $out) (local.get $off)) (v128.load (i32.add (local.get $s0) (local.get $off))))
          (v128.store (i32.add (local.get $o1) (local.get $off)) (v128.load (i32.add (local.get $s1) (local.get $off))))
          (v128.store (i32.add (local.get $o2) (local.get $off)) (v128.load (i32.add (local.get $s2) (local.get $off))))
          (v128.store (i32.add (local.get $o3) (local.get $off)) (v128.load (i32.add (local.get $s3) (local.get $off))))
          (local.set $off (i32.add (local.get $off) (i32.const 16)))
          (br_if $vec (i32.lt_u (local.get $off) (local.get $rowBytes))))
        (local.set $out (i32.add (local.get $o3) (local.get $rowBytes)))
        (local.set $ids (i32.add (local.get $ids) (i32.const 16)))
        (br $groups)))
    (call $gather16 (local.get $table) (local.get $ids) (i32.and (local.get $n) (i32.const 3)) (local.get $rowBytes) (local.get $out)))

  ;; gather64x4: four rows at a time like gather16x4, for rowBytes a multiple of 64: each
  ;; iteration copies 64 bytes of each of the four rows with immediate offsets.
  (func $gather64x4 (export "gather64x4") (param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)
    (local $end4 i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $o0 i32)
    (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $stop i32)
    (local.set $end4 (i32.add (local.get $ids) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $ids) (local.get $end4)))
        (local.set $s0 (i32.add (local.get $table) (i32.mul (i32.load (local.get $ids)) (local.get $rowBytes))))
        (local.set $s1 (i32.add (local.get $table) (i32.mul (i32.load offset=4 (local.get $ids)) (local.get $rowBytes))))
        (local.set $s2 (i32.add (local.get $table) (i32.mul (i32.load offset=8 (local.get $ids)) (local.get $rowBytes))))
        (local.set $s3 (i32.add (local.get $table) (i32.mul (i32.load offset=12 (local.get $ids)) (local.get $rowBytes))))
        (local.set $o0 (local.get $out))
        (local.set $o1 (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $o2 (i32.add (local.get $o1) (local.get $rowBytes)))
        (local.set $o3 (i32.add (local.get $o2) (local.get $rowBytes)))
        (local.set $stop (local.get $o1))
        (loop $vec
          (v128.store offset=0 (local.get $o0) (v128.load offset=0 (local.get $s0)))
          (v128.store offset=16 (local.get $o0) (v128.load offset=16 (local.get $s0)))
          (v128.store offset=32 (local.get $o0) (v128.load offset=32 (local.get $s0)))
          (v128.store offset=48 (local.get $o0) (v128.load offset=48 (local.get $s0)))
          (v128.store offset=0 (local.get $o1) (v128.load offset=0 (local.get $s1)))
          (v128.store offset=16 (local.get $o1) (v128.load offset=16 (local.get $s1)))
          (v128.store offset=32 (local.get $o1) (v128.load offset=32 (local.get $s1)))
          (v128.store offset=48 (local.get $o1) (v128.load offset=48 (local.get $s1)))
          (v128.store offset=0 (local.get $o2) (v128.load offset=0 (local.get $s2)))
          (v128.store offset=16 (local.get $o2) (v128.load offset=16 (local.get $s2)))
          (v128.store offset=32 (local.get $o2) (v128.load offset=32 (local.get $s2)))
          (v128.store offset=48 (local.get $o2) (v128.load offset=48 (local.get $s2)))
          (v128.store offset=0 (local.get $o3) (v128.load offset=0 (local.get $s3)))
          (v128.store offset=16 (local.get $o3) (v128.load offset=16 (local.get $s3)))
          (v128.store offset=32 (local.get $o3) (v128.load offset=32 (local.get $s3)))
          (v128.store offset=48 (local.get $o3) (v128.load offset=48 (local.get $s3)))
          (local.set $s0 (i32.add (local.get $s0) (i32.const 64)))
          (local.set $s1 (i32.add (local.get $s1) (i32.const 64)))
          (local.set $s2 (i32.add (local.get $s2) (i32.const 64)))
          (local.set $s3 (i32.add (local.get $s3) (i32.const 64)))
          (local.set $o1 (i32.add (local.get $o1) (i32.const 64)))
          (local.set $o2 (i32.add (local.get $o2) (i32.const 64)))
          (local.set $o3 (i32.add (local.get $o3) (i32.const 64)))
          (local.set $o0 (i32.add (local.get $o0) (i32.const 64)))
          (br_if $vec (i32.lt_u (local.get $o0) (local.get $stop))))
        (local.set $out (local.get $o3))
        (local.set $ids (i32.add (local.get $ids) (i32.const 16)))
        (br $groups)))
    (call $gather16 (local.get $table) (local.get $ids) (i32.and (local.get $n) (i32.const 3)) (local.get $rowBytes) (local.get $out)))
)
