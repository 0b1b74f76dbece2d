// A `wasi:http` handler in C, as Spin or `wasmtime serve` would run it: the world
// `wasi:http/proxy`. It answers 201 with its own headers and a JSON body naming the method,
// path, query, the `x-echo` header, whether an `authorization` header reached it, and the
// body it read (at most 1 MiB; more is a 413). Served as an Arsenal operation at the route
// its operator declares (docs/http-handlers.md).
//
// `proxy.h` and `proxy.c` are generated from the WIT (`wit-bindgen c tests/wit/http-handler
// --world wasi:http/proxy@0.2.12`); built for wasm32-wasi with clang and made a component
// with the preview 1 adapter, as `examples/greet-c` is (tests/it/toolchains.rs).
//
// No stdio: wasi-libc's printf family makes the adapter import `wasi:filesystem`. Text is
// put together in a growing buffer instead. A failure of the host's own resources (not of
// the request) aborts, which traps: the host answers 500 `operation_crashed`.

#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/// The most body bytes the handler reads.
#define MAX_BODY (1024 * 1024)

/// One blocking write takes at most 4096 bytes.
#define WRITE_CHUNK 4096

/// A growing byte buffer.
typedef struct {
  char *ptr;
  size_t len, cap;
} buffer_t;

static void reserve(buffer_t *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more) cap *= 2;
  b->ptr = realloc(b->ptr, cap);
  if (b->ptr == NULL) abort();
  b->cap = cap;
}

static void put_bytes(buffer_t *b, const void *bytes, size_t len) {
  reserve(b, len);
  memcpy(b->ptr + b->len, bytes, len);
  b->len += len;
}

static void put(buffer_t *b, const char *s) { put_bytes(b, s, strlen(s)); }

/// The length of the well-formed UTF-8 sequence at `p` (at most `len` bytes), or 0 when
/// it is not one (a stray continuation, a truncated, overlong or surrogate sequence).
static size_t utf8_sequence(const unsigned char *p, size_t len) {
  size_t need;
  unsigned long code, min;
  if (p[0] < 0x80) return 1;
  if ((p[0] & 0xE0) == 0xC0) {
    need = 2, code = p[0] & 0x1F, min = 0x80;
  } else if ((p[0] & 0xF0) == 0xE0) {
    need = 3, code = p[0] & 0x0F, min = 0x800;
  } else if ((p[0] & 0xF8) == 0xF0) {
    need = 4, code = p[0] & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (need > len) return 0;
  for (size_t i = 1; i < need; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    code = (code << 6) | (p[i] & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code < 0xE000)) return 0;
  return need;
}

/// `bytes` as a JSON string (with its quotes); a byte that is not well-formed UTF-8 is
/// U+FFFD, as a lenient decoder reads it.
static void put_json_string(buffer_t *b, const uint8_t *bytes, size_t len) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"");
  size_t i = 0;
  while (i < len) {
    unsigned char c = bytes[i];
    if (c == '"' || c == '\\') {
      char escaped[2] = {'\\', (char)c};
      put_bytes(b, escaped, 2);
      i++;
    } else if (c < 0x20) {
      char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
      put_bytes(b, escaped, 6);
      i++;
    } else {
      size_t n = utf8_sequence(bytes + i, len - i);
      if (n == 0) {
        put(b, "\\ufffd");
        i++;
      } else {
        put_bytes(b, bytes + i, n);
        i += n;
      }
    }
  }
  put(b, "\"");
}

static void put_json_text(buffer_t *b, const char *s) {
  put_json_string(b, (const uint8_t *)s, strlen(s));
}

/// The request's method as text.
static void put_method(buffer_t *b, wasi_http_types_method_t *method) {
  static const char *const names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  if (method->tag == WASI_HTTP_TYPES_METHOD_OTHER) {
    put_json_string(b, method->val.other.ptr, method->val.other.len);
  } else {
    put_json_text(b, names[method->tag]);
  }
}

/// A header name the host can borrow (the bytes stay the caller's).
static wasi_http_types_field_name_t field_name(const char *name) {
  return (wasi_http_types_field_name_t){.ptr = (uint8_t *)name, .len = strlen(name)};
}

/// How reading the body ended.
typedef enum { BODY_READ, BODY_TOO_LARGE, BODY_FAILED } body_end_t;

/// Read the whole request body into `out`, at most `MAX_BODY` bytes.
static body_end_t read_body(wasi_http_types_borrow_incoming_request_t request, buffer_t *out) {
  wasi_http_types_own_incoming_body_t body;
  if (!wasi_http_types_method_incoming_request_consume(request, &body)) abort();
  wasi_http_types_own_input_stream_t stream;
  if (!wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body),
                                                   &stream)) {
    abort();
  }
  wasi_io_streams_borrow_input_stream_t borrowed = wasi_io_streams_borrow_input_stream(stream);
  body_end_t end = BODY_READ;
  for (;;) {
    proxy_list_u8_t chunk;
    wasi_io_streams_stream_error_t error;
    if (!wasi_io_streams_method_input_stream_blocking_read(borrowed, 16384, &chunk, &error)) {
      if (error.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
        wasi_io_streams_stream_error_free(&error);
        end = BODY_FAILED;
      }
      break;
    }
    if (out->len + chunk.len > MAX_BODY) {
      proxy_list_u8_free(&chunk);
      end = BODY_TOO_LARGE;
      break;
    }
    put_bytes(out, chunk.ptr, chunk.len);
    proxy_list_u8_free(&chunk);
  }
  // The stream is the body's child, and the body the request's: dropped in that order.
  wasi_io_streams_input_stream_drop_own(stream);
  wasi_http_types_future_trailers_drop_own(wasi_http_types_static_incoming_body_finish(body));
  return end;
}

/// Answer `status` with `headers` (name, value pairs) and `body`.
static void respond(wasi_http_types_own_response_outparam_t out, uint16_t status,
                    const char *const headers[][2], size_t header_count, const buffer_t *body) {
  wasi_http_types_tuple2_field_name_field_value_t *entries =
      calloc(header_count, sizeof *entries);
  for (size_t i = 0; i < header_count; i++) {
    entries[i].f0 = field_name(headers[i][0]);
    entries[i].f1 = (wasi_http_types_field_value_t){.ptr = (uint8_t *)headers[i][1],
                                                    .len = strlen(headers[i][1])};
  }
  wasi_http_types_list_tuple2_field_name_field_value_t list = {.ptr = entries,
                                                               .len = header_count};
  wasi_http_types_own_fields_t fields;
  wasi_http_types_header_error_t header_error;
  if (!wasi_http_types_static_fields_from_list(&list, &fields, &header_error)) abort();
  free(entries);

  wasi_http_types_own_outgoing_response_t response =
      wasi_http_types_constructor_outgoing_response(fields);
  wasi_http_types_borrow_outgoing_response_t borrowed =
      wasi_http_types_borrow_outgoing_response(response);
  if (!wasi_http_types_method_outgoing_response_set_status_code(borrowed, status)) abort();
  wasi_http_types_own_outgoing_body_t outgoing;
  if (!wasi_http_types_method_outgoing_response_body(borrowed, &outgoing)) abort();
  wasi_http_types_result_own_outgoing_response_error_code_t result = {.is_err = false};
  result.val.ok = response;
  wasi_http_types_static_response_outparam_set(out, &result);

  wasi_http_types_own_output_stream_t stream;
  if (!wasi_http_types_method_outgoing_body_write(
          wasi_http_types_borrow_outgoing_body(outgoing), &stream)) {
    abort();
  }
  wasi_io_streams_borrow_output_stream_t writer = wasi_io_streams_borrow_output_stream(stream);
  for (size_t at = 0; at < body->len; at += WRITE_CHUNK) {
    size_t len = body->len - at < WRITE_CHUNK ? body->len - at : WRITE_CHUNK;
    proxy_list_u8_t chunk = {.ptr = (uint8_t *)body->ptr + at, .len = len};
    wasi_io_streams_stream_error_t error;
    if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(writer, &chunk, &error)) {
      abort();
    }
  }
  wasi_io_streams_output_stream_drop_own(stream);
  wasi_http_types_error_code_t finish_error;
  if (!wasi_http_types_static_outgoing_body_finish(outgoing, NULL, &finish_error)) abort();
}

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasi_http_types_borrow_incoming_request_t borrowed =
      wasi_http_types_borrow_incoming_request(request);
  buffer_t answer = {0};

  wasi_http_types_method_t method;
  wasi_http_types_method_incoming_request_method(borrowed, &method);
  proxy_string_t target = {0};
  wasi_http_types_method_incoming_request_path_with_query(borrowed, &target);
  // The path ends at the first `?`; the query is what follows it.
  size_t path_len = 0;
  while (path_len < target.len && target.ptr[path_len] != '?') path_len++;
  size_t query_at = path_len < target.len ? path_len + 1 : target.len;

  wasi_http_types_own_headers_t headers = wasi_http_types_method_incoming_request_headers(borrowed);
  wasi_http_types_borrow_fields_t fields = wasi_http_types_borrow_fields(headers);
  wasi_http_types_field_name_t echo_name = field_name("x-echo");
  wasi_http_types_list_field_value_t echo;
  wasi_http_types_method_fields_get(fields, &echo_name, &echo);
  wasi_http_types_field_name_t authorization_name = field_name("authorization");
  bool authorization = wasi_http_types_method_fields_has(fields, &authorization_name);
  wasi_http_types_fields_drop_own(headers);

  buffer_t body = {0};
  body_end_t end = read_body(borrowed, &body);
  wasi_http_types_incoming_request_drop_own(request);

  char *echo_value = NULL;
  if (echo.len > 0) {
    echo_value = strndup((const char *)echo.ptr[0].ptr, echo.ptr[0].len);
  }
  const char *const headers_out[][2] = {
      {"content-type", "application/json"},
      {"x-handled-by", "http-c"},
      {"x-echo", echo_value ? echo_value : ""},
  };
  size_t header_count = echo_value ? 3 : 2;
  uint16_t status = 201;

  if (end != BODY_READ) {
    status = end == BODY_TOO_LARGE ? 413 : 400;
    put(&answer, "{\"error\":");
    put_json_text(&answer, end == BODY_TOO_LARGE ? "the body is over 1 MiB"
                                                 : "the body could not be read");
    put(&answer, "}");
  } else {
    put(&answer, "{\"method\":");
    put_method(&answer, &method);
    put(&answer, ",\"path\":");
    put_json_string(&answer, target.ptr, path_len);
    put(&answer, ",\"query\":");
    put_json_string(&answer, target.ptr + query_at, target.len - query_at);
    put(&answer, ",\"echo\":");
    if (echo.len > 0) {
      put_json_string(&answer, echo.ptr[0].ptr, echo.ptr[0].len);
    } else {
      put(&answer, "null");
    }
    put(&answer, authorization ? ",\"authorization\":true" : ",\"authorization\":false");
    put(&answer, ",\"body\":");
    put_json_string(&answer, (const uint8_t *)body.ptr, body.len);
    put(&answer, "}");
  }
  respond(response_out, status, headers_out, header_count, &answer);

  free(echo_value);
  free(answer.ptr);
  free(body.ptr);
  wasi_http_types_list_field_value_free(&echo);
  proxy_string_free(&target);
  wasi_http_types_method_free(&method);
}
