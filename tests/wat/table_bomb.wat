;; Test guest `table_bomb`: an operation of the earlier contract (world
;; `arsenal:operation/operation@0.1.0`, which the host still loads) written by hand, whose `execute` grows a funcref table by 10,000 elements at a time until
;; `table.grow` fails (returns -1 once the host's table limit is reached), then traps with
;; `unreachable`. The host must refuse the growth, survive the trap and answer an error.
;;
;; tests/build.rs turns this core module into a component with wit-component. It imports
;; nothing (not even `log`), so the component imports nothing either.
;;
;; Canonical ABI, as wit-component expects it for these exports:
;; - `describe: func() -> config` lowers to `(func (result i32))`: `config` flattens to more
;;   than one value, so the function returns a pointer to the record in linear memory.
;; - `execute: func(request) -> result<response, op-error>` lowers to nine parameters
;;   (`request` flattens to params ptr/len, principal ptr/len, roles ptr/len,
;;   request-id ptr/len, deadline-ms i64) and, again, a pointer result.
;; - `cabi_realloc` is where the host copies `execute`'s strings and lists.
;; No `cabi_post_*` functions are exported: they are optional, and nothing needs freeing.
(module
  (memory (export "memory") 1)

  ;; The table `execute` grows; it starts empty and has no maximum of its own.
  (table $bomb 0 funcref)

  ;; Bump allocator state: the next free byte. Everything below 4096 is the static data.
  (global $heap (mut i32) (i32.const 4096))

  ;; The `config` record, 96 bytes (alignment 4), at 1024. Field offsets follow the
  ;; canonical ABI: each field is aligned to its own alignment; string and list are
  ;; (ptr: u32, len: u32); enum and bool are one byte; an option is a one-byte
  ;; discriminant followed by its payload at the payload's alignment. Integers are
  ;; little-endian.
  (data (i32.const 1024)
    "\00\08\00\00" "\0a\00\00\00"  ;;  0 name: string             -> 2048, 10 "table_bomb"
    "\10\08\00\00" "\05\00\00\00"  ;;  8 version: string          -> 2064, 5 "0.1.0"
    "\20\08\00\00" "\04\00\00\00"  ;; 16 category: string         -> 2080, 4 "test"
    "\30\08\00\00" "\21\00\00\00"  ;; 24 summary: string          -> 2096, 33
    "\60\08\00\00" "\55\00\00\00"  ;; 32 description: string      -> 2144, 85
    "\00" "\00\00\00"              ;; 40 method: http-method = get (0), 3 bytes padding
    "\00\09\00\00" "\17\00\00\00"  ;; 44 path: string             -> 2304, 23
    "\00\00\00\00" "\00\00\00\00"  ;; 52 params: list<param>      -> empty (ptr 0, len 0)
    "\c8\00" "\00\00"              ;; 60 success-status: u16 = 200, 2 bytes padding
    "\00\00\00\00"                 ;; 64 response-schema: option<string> = none (+3 padding)
    "\00\00\00\00" "\00\00\00\00"  ;;    (unused payload: ptr, len)
    "\00\00\00\00" "\00\00\00\00"  ;; 76 limits.memory-mib: option<u32> = none (tag, payload)
    "\00\00\00\00" "\00\00\00\00"  ;; 84 limits.timeout-ms: option<u32> = none (tag, payload)
    "\00" "\00\00\00"              ;; 92 additional-params: bool = false, 3 bytes padding
  )                                ;; 96 end

  ;; The strings the record points to (UTF-8, lengths as above).
  (data (i32.const 2048) "table_bomb")
  (data (i32.const 2064) "0.1.0")
  (data (i32.const 2080) "test")
  (data (i32.const 2096) "Grow a table until it cannot grow")
  (data (i32.const 2144) "Grows a funcref table by 10000 elements at a time until table.grow fails, then traps.")
  (data (i32.const 2304) "/api/v1/test/table-bomb")

  (func (export "arsenal:operation/handler@0.1.0#describe") (result i32)
    i32.const 1024)

  (func (export "arsenal:operation/handler@0.1.0#execute")
    (param $params i32) (param $params_len i32)
    (param $principal i32) (param $principal_len i32)
    (param $roles i32) (param $roles_len i32)
    (param $request_id i32) (param $request_id_len i32)
    (param $deadline_ms i64)
    (result i32)
    (block $full
      (loop $grow
        ;; `table.grow` answers the old size, or -1 when the table cannot grow.
        (br_if $full
          (i32.eq
            (table.grow $bomb (ref.null func) (i32.const 10000))
            (i32.const -1)))
        (br $grow)))
    unreachable)

  ;; A bump allocator that never frees; one instance serves one call. It grows memory
  ;; when needed and traps if it cannot. A reallocation copies the old bytes.
  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
    (result i32)
    (local $ptr i32) (local $end i32) (local $missing i32)
    ;; ptr = align_up(heap, align); align is a power of two.
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    ;; missing = end - memory size in bytes; grow by enough 64 KiB pages to cover it.
    (local.set $missing
      (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))))
    (if (i32.gt_s (local.get $missing) (i32.const 0))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u (i32.add (local.get $missing) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old_size)
      (then
        (memory.copy
          (local.get $ptr)
          (local.get $old)
          (select
            (local.get $old_size)
            (local.get $new_size)
            (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $ptr))
)
