;; Example operation `greet`, written by hand in WebAssembly text: the same operation as
;; `examples/greet` (Rust), with the same route, parameters, error path and log line.
;;
;;   GET /api/v1/greet/:name?times=N   ->  {"greeting": "hello, NAME! hello, NAME!"}
;;   name:  path, string, at most 32 characters ("Who to greet")
;;   times: query, integer 1..=5, default 1
;;   name "nobody" -> op-error not-found "there is nobody to greet" (404 not_found)
;;
;; This is a core module implementing the world `arsenal:operation/operation`; the build
;; (tests/build.rs, through `arsenal-guest-build`) embeds the WIT and turns it into a
;; component with wit-component. Its only import is `log`.
;;
;; Canonical ABI facts it relies on (all integers little-endian):
;; - `describe: func() -> config` returns a pointer to the `config` record (112 bytes,
;;   alignment 4); `params` points to an array of `param` records (120 bytes, alignment 8).
;; - `execute(request)` receives the request flattened into nine values and returns a
;;   pointer to a `result<response, op-error>`: a discriminant byte at 0 (0 ok, 1 err) and
;;   the payload at 4: `response.data` (ptr, len), or an `op-error` (case byte at 4, then
;;   `error-info` at 8: message (ptr, len), details and code as option<string>, tag bytes
;;   at 16 and 28).
;; - The host validated the parameters before `execute` runs, and hands them over as
;;   compact JSON with both keys present (`times` has a default). A JSON string never
;;   holds an unescaped `"`, so `"name":"` and `"times":` can only match the keys, and the
;;   name's JSON escapes are copied through unchanged into the JSON answer.
(module
  (import "arsenal:operation/log@0.2.0" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 1)

  ;; Bump allocator: the next free byte. Below 4096 is static data; one instance serves
  ;; one call, so nothing is ever freed.
  (global $heap (mut i32) (i32.const 4096))

  ;; Static strings: address, then length in the comment.
  (data (i32.const 2048) "greet")                    ;; 5
  (data (i32.const 2064) "0.1.0")                    ;; 5
  (data (i32.const 2080) "custom")                   ;; 6
  (data (i32.const 2096) "Greet someone")            ;; 13
  (data (i32.const 2112) "/api/v1/greet/:name")      ;; 19
  (data (i32.const 2144) "name")                     ;; 4
  (data (i32.const 2160) "Who to greet")             ;; 12
  (data (i32.const 2176) "times")                    ;; 5
  (data (i32.const 2192) "1")                        ;; 1, the default as JSON text
  (data (i32.const 2208) "\"name\":\"")              ;; 8
  (data (i32.const 2224) "\"times\":")               ;; 8
  (data (i32.const 2240) "nobody")                   ;; 6
  (data (i32.const 2256) "there is nobody to greet") ;; 24
  (data (i32.const 2288) "{\"greeting\":\"")         ;; 13
  (data (i32.const 2304) "hello, ")                  ;; 7
  (data (i32.const 2320) "\"}")                      ;; 2
  (data (i32.const 2336) "greeting ")                ;; 9
  (data (i32.const 2352) " time(s)")                 ;; 8

  ;; Store a string (ptr, len) at `at`.
  (func $string (param $at i32) (param $ptr i32) (param $len i32)
    (i32.store (local.get $at) (local.get $ptr))
    (i32.store offset=4 (local.get $at) (local.get $len)))

  ;; The `config` record at 1024 and its two `param` records at 1152 and 1272. Every
  ;; byte not written here is zero (an absent option, an empty list, false).
  (func (export "arsenal:operation/handler@0.2.0#describe") (result i32)
    (memory.fill (i32.const 1024) (i32.const 0) (i32.const 368))
    (call $string (i32.const 1024) (i32.const 2048) (i32.const 5))   ;;  0 name
    (call $string (i32.const 1032) (i32.const 2064) (i32.const 5))   ;;  8 version
    (call $string (i32.const 1040) (i32.const 2080) (i32.const 6))   ;; 16 category
    (call $string (i32.const 1048) (i32.const 2096) (i32.const 13))  ;; 24 summary
    ;; 32 description: empty; 40 method: get (0)
    (call $string (i32.const 1068) (i32.const 2112) (i32.const 19))  ;; 44 path
    (call $string (i32.const 1076) (i32.const 1152) (i32.const 2))   ;; 52 params
    (i32.store16 (i32.const 1084) (i32.const 200))                   ;; 60 success-status
    ;; 64 response-schema, 76 limits, 92 additional-params: none, none, false
    ;; 96 outbound-hosts, 104 buckets: empty lists

    ;; param `name`: path (0), string (0), required, max-length 32.
    (call $string (i32.const 1152) (i32.const 2144) (i32.const 4))   ;;   0 name
    (i32.store8 (i32.const 1164) (i32.const 1))                      ;;  12 required
    (call $string (i32.const 1180) (i32.const 2160) (i32.const 12))  ;;  28 description
    (i32.store8 (i32.const 1232) (i32.const 1))                      ;;  80 max-length: some
    (i32.store (i32.const 1236) (i32.const 32))                      ;;  84   32

    ;; param `times`: query (1), integer (1), optional, default 1, minimum 1, maximum 5.
    (call $string (i32.const 1272) (i32.const 2176) (i32.const 5))   ;;   0 name
    (i32.store8 (i32.const 1280) (i32.const 1))                      ;;   8 location
    (i32.store8 (i32.const 1281) (i32.const 1))                      ;;   9 type
    (i32.store8 (i32.const 1288) (i32.const 1))                      ;;  16 default: some
    (call $string (i32.const 1292) (i32.const 2192) (i32.const 1))   ;;  20   "1"
    (i32.store8 (i32.const 1312) (i32.const 1))                      ;;  40 minimum: some
    (f64.store (i32.const 1320) (f64.const 1))                       ;;  48   1.0
    (i32.store8 (i32.const 1328) (i32.const 1))                      ;;  56 maximum: some
    (f64.store (i32.const 1336) (f64.const 5))                       ;;  64   5.0
    (i32.const 1024))

  ;; The index of the first `needle` in `hay`, or -1.
  (func $find (param $hay i32) (param $hay_len i32) (param $needle i32) (param $needle_len i32)
    (result i32)
    (local $at i32) (local $i i32)
    (block $absent
      (loop $next
        (br_if $absent
          (i32.gt_s (i32.add (local.get $at) (local.get $needle_len)) (local.get $hay_len)))
        (local.set $i (i32.const 0))
        (block $differ
          (loop $compare
            (if (i32.eq (local.get $i) (local.get $needle_len))
              (then (return (local.get $at))))
            (br_if $differ
              (i32.ne
                (i32.load8_u (i32.add (local.get $hay) (i32.add (local.get $at) (local.get $i))))
                (i32.load8_u (i32.add (local.get $needle) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $compare)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; Copy `len` bytes from `src` to `dst`; the address after them.
  (func $append (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  (func (export "arsenal:operation/handler@0.2.0#execute")
    (param $params i32) (param $params_len i32)
    (param $principal i32) (param $principal_len i32)
    (param $roles i32) (param $roles_len i32)
    (param $request_id i32) (param $request_id_len i32)
    (param $deadline_ms i64)
    (result i32)
    (local $name i32) (local $name_len i32) (local $at i32) (local $times i32)
    (local $out i32) (local $end i32) (local $i i32) (local $result i32)

    ;; The name: the JSON string after `"name":"`, up to its closing unescaped quote.
    (local.set $at
      (call $find (local.get $params) (local.get $params_len) (i32.const 2208) (i32.const 8)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then unreachable))
    (local.set $name (i32.add (local.get $params) (i32.add (local.get $at) (i32.const 8))))
    (block $closed
      (loop $scan
        (br_if $closed
          (i32.eq (i32.load8_u (i32.add (local.get $name) (local.get $name_len))) (i32.const 34)))
        (local.set $name_len
          (i32.add (local.get $name_len)
            (select (i32.const 2) (i32.const 1)
              (i32.eq (i32.load8_u (i32.add (local.get $name) (local.get $name_len)))
                      (i32.const 92)))))
        (br $scan)))

    ;; The number of times: the digits after `"times":`.
    (local.set $at
      (call $find (local.get $params) (local.get $params_len) (i32.const 2224) (i32.const 8)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then unreachable))
    (local.set $at (i32.add (local.get $params) (i32.add (local.get $at) (i32.const 8))))
    (block $done
      (loop $digit
        (br_if $done (i32.gt_u (i32.sub (i32.load8_u (local.get $at)) (i32.const 48)) (i32.const 9)))
        (local.set $times
          (i32.add (i32.mul (local.get $times) (i32.const 10))
                   (i32.sub (i32.load8_u (local.get $at)) (i32.const 48))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $digit)))

    (local.set $result (call $alloc (i32.const 40) (i32.const 4)))

    ;; The error path: nobody to greet -> not-found (case 1).
    (if (i32.and
          (i32.eq (local.get $name_len) (i32.const 6))
          (i32.eqz (call $find (local.get $name) (i32.const 6) (i32.const 2240) (i32.const 6))))
      (then
        (memory.fill (local.get $result) (i32.const 0) (i32.const 40))
        (i32.store8 (local.get $result) (i32.const 1))
        (i32.store8 offset=4 (local.get $result) (i32.const 1))
        (call $string (i32.add (local.get $result) (i32.const 8)) (i32.const 2256) (i32.const 24))
        (return (local.get $result))))

    ;; The log line: "greeting NAME N time(s)" at level info (2).
    (local.set $out (call $alloc (i32.add (local.get $name_len) (i32.const 19)) (i32.const 1)))
    (local.set $end (call $append (local.get $out) (i32.const 2336) (i32.const 9)))
    (local.set $end (call $append (local.get $end) (local.get $name) (local.get $name_len)))
    (i32.store8 (local.get $end) (i32.const 32))
    (i32.store8 offset=1 (local.get $end) (i32.add (local.get $times) (i32.const 48)))
    (local.set $end (call $append (i32.add (local.get $end) (i32.const 2)) (i32.const 2352) (i32.const 8)))
    (call $log (i32.const 2) (local.get $out) (i32.sub (local.get $end) (local.get $out)))

    ;; The data: {"greeting":"hello, NAME! hello, NAME!"}, `times` greetings.
    (local.set $out
      (call $alloc
        (i32.add (i32.const 15)
          (i32.mul (local.get $times) (i32.add (local.get $name_len) (i32.const 9))))
        (i32.const 1)))
    (local.set $end (call $append (local.get $out) (i32.const 2288) (i32.const 13)))
    (block $greeted
      (loop $greet
        (br_if $greeted (i32.ge_u (local.get $i) (local.get $times)))
        (if (local.get $i)
          (then
            (i32.store8 (local.get $end) (i32.const 32))
            (local.set $end (i32.add (local.get $end) (i32.const 1)))))
        (local.set $end (call $append (local.get $end) (i32.const 2304) (i32.const 7)))
        (local.set $end (call $append (local.get $end) (local.get $name) (local.get $name_len)))
        (i32.store8 (local.get $end) (i32.const 33))
        (local.set $end (i32.add (local.get $end) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $greet)))
    (local.set $end (call $append (local.get $end) (i32.const 2320) (i32.const 2)))

    ;; ok (0) with response.data.
    (i32.store8 (local.get $result) (i32.const 0))
    (call $string (i32.add (local.get $result) (i32.const 4))
      (local.get $out) (i32.sub (local.get $end) (local.get $out)))
    (local.get $result))

  ;; Allocate `size` bytes aligned to `align` (a power of two), growing memory as needed;
  ;; traps when memory cannot grow (the host's cap).
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $ptr i32) (local $end i32) (local $missing i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $missing (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))))
    (if (i32.gt_s (local.get $missing) (i32.const 0))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u (i32.add (local.get $missing) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; Where the host copies the request's strings and lists.
  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
    (result i32)
    (local $ptr i32)
    (local.set $ptr (call $alloc (local.get $new_size) (local.get $align)))
    (if (local.get $old_size)
      (then
        (memory.copy (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $new_size)
            (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $ptr))
)
