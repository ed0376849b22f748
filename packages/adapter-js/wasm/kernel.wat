;; The lookup kernel of @embedding-layer/adapter-js. Compiled by scripts/build-wasm.mjs (wabt)
;; into src/generated/kernel-wasm.ts, twice: with a plain and with a shared imported memory
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
  (func (export "gather16") (param $table i32) (param $ids i32) (param $n i32) (param $rowBytes i32) (param $out i32)
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
)
