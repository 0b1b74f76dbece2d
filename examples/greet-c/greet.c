// Example operation `greet` in C: the same operation as `examples/greet` (Rust).
//
// GET /api/v1/greet/:name?times=N answers {"greeting": "hello, NAME! ..."}; the name
// `nobody` is a 404 `not_found`; each greeting is logged. `operation.h` and `operation.c`
// are generated from the WIT (`wit-bindgen c wit/operation --world operation`); built
// for wasm32-wasi with clang and made a component with the preview1 adapter (see
// docs/languages.md).
//
// Every string handed back to the host is heap-allocated: the generated post-return
// functions free them once the host has copied them out.
//
// No stdio: wasi-libc's printf family links its stderr stream, whose seek and close make
// the preview 1 adapter import `wasi:filesystem`, which the host never grants to an
// operation. Text is put together with the string functions below instead.

#include <stdlib.h>
#include <string.h>

#include "operation.h"

/// A string the host takes ownership of.
static operation_string_t text(const char *s) {
  operation_string_t out;
  operation_string_dup(&out, s);
  return out;
}

static operation_option_string_t some_text(const char *s) {
  return (operation_option_string_t){.is_some = true, .val = text(s)};
}

static arsenal_operation_types_constraints_t no_constraints(void) {
  arsenal_operation_types_constraints_t c;
  memset(&c, 0, sizeof c);
  return c;
}

void exports_arsenal_operation_handler_describe(exports_arsenal_operation_handler_config_t *ret) {
  memset(ret, 0, sizeof *ret);
  arsenal_operation_types_param_t *params = calloc(2, sizeof *params);

  params[0].name = text("name");
  params[0].location = ARSENAL_OPERATION_TYPES_PARAM_LOCATION_PATH;
  params[0].type = ARSENAL_OPERATION_TYPES_PARAM_TYPE_STRING;
  params[0].required = true;
  params[0].description = text("Who to greet");
  params[0].constraints = no_constraints();
  params[0].constraints.max_length = (operation_option_u32_t){.is_some = true, .val = 32};

  params[1].name = text("times");
  params[1].location = ARSENAL_OPERATION_TYPES_PARAM_LOCATION_QUERY;
  params[1].type = ARSENAL_OPERATION_TYPES_PARAM_TYPE_INTEGER;
  params[1].required = false;
  params[1].default_ = some_text("1");
  params[1].description = text("");
  params[1].constraints = no_constraints();
  params[1].constraints.minimum = (operation_option_f64_t){.is_some = true, .val = 1};
  params[1].constraints.maximum = (operation_option_f64_t){.is_some = true, .val = 5};

  ret->name = text("greet");
  ret->version = text("0.1.0");
  ret->category = text("custom");
  ret->summary = text("Greet someone");
  ret->description = text("");
  ret->method = ARSENAL_OPERATION_TYPES_HTTP_METHOD_GET;
  ret->path = text("/api/v1/greet/:name");
  ret->params = (arsenal_operation_types_list_param_t){.ptr = params, .len = 2};
  ret->success_status = 200;
  ret->additional_params = false;
}

/// Append the UTF-8 encoding of `code` to `out`.
static size_t put_utf8(unsigned long code, char *out) {
  if (code < 0x80) {
    out[0] = (char)code;
    return 1;
  }
  if (code < 0x800) {
    out[0] = (char)(0xC0 | (code >> 6));
    out[1] = (char)(0x80 | (code & 0x3F));
    return 2;
  }
  if (code < 0x10000) {
    out[0] = (char)(0xE0 | (code >> 12));
    out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[2] = (char)(0x80 | (code & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (code >> 18));
  out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
  out[3] = (char)(0x80 | (code & 0x3F));
  return 4;
}

/// Decode the JSON string starting at the `"` at `*at` into a new NUL-terminated string,
/// leaving `*at` past its closing quote. The host sends valid JSON (it encoded it).
static char *json_string(const char **at) {
  const char *p = *at + 1;
  char *out = malloc(strlen(p) + 1), *o = out;
  while (*p && *p != '"') {
    if (*p != '\\') {
      *o++ = *p++;
      continue;
    }
    p++;
    switch (*p) {
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'u': {
        unsigned long code = strtoul((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
        p += 4;
        if (code >= 0xD800 && code < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
          unsigned long low = strtoul((char[5]){p[3], p[4], p[5], p[6], 0}, NULL, 16);
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          p += 6;
        }
        o += put_utf8(code, o);
        break;
      }
      default: *o++ = *p; break;  // `"`, `\` and `/` stand for themselves
    }
    p++;
  }
  *o = 0;
  *at = *p ? p + 1 : p;
  return out;
}

/// Write `number` in decimal at `out`; its length.
static size_t put_decimal(long number, char *out) {
  char digits[24];
  size_t n = 0;
  unsigned long rest = number < 0 ? 0UL - (unsigned long)number : (unsigned long)number;
  do {
    digits[n++] = (char)('0' + rest % 10);
    rest /= 10;
  } while (rest);
  size_t len = 0;
  if (number < 0) out[len++] = '-';
  while (n) out[len++] = digits[--n];
  return len;
}

/// Copy `s` to `out`; the end of the copy.
static char *put(char *out, const char *s) {
  size_t len = strlen(s);
  memcpy(out, s, len);
  return out + len;
}

/// `value` as a JSON string body (without quotes), written at `out`; its length.
static size_t json_escape(const char *value, char *out) {
  char *o = out;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (*p == '"' || *p == '\\') {
      *o++ = '\\';
      *o++ = (char)*p;
    } else if (*p < 0x20) {
      const char *hex = "0123456789abcdef";
      o = put(o, "\\u00");
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 0xF];
    } else {
      *o++ = (char)*p;
    }
  }
  return (size_t)(o - out);
}

/// Read `name` and `times` from the validated parameters, a flat JSON object.
static void read_params(const char *json, char **name, long *times) {
  const char *p = json;
  while ((p = strchr(p, '"')) != NULL) {
    char *key = json_string(&p);
    p += strspn(p, " \t\r\n:");
    if (*p == '"') {
      char *value = json_string(&p);
      if (strcmp(key, "name") == 0) {
        *name = value;
      } else {
        free(value);
      }
    } else {
      char *end;
      long number = strtol(p, &end, 10);
      if (strcmp(key, "times") == 0) *times = number;
      p = end;
    }
    free(key);
  }
}

bool exports_arsenal_operation_handler_execute(exports_arsenal_operation_handler_request_t *request,
                                               exports_arsenal_operation_handler_response_t *ret,
                                               exports_arsenal_operation_handler_op_error_t *err) {
  char *params = strndup((const char *)request->params.ptr, request->params.len);
  exports_arsenal_operation_handler_request_free(request);
  char *name = NULL;
  long times = 1;
  read_params(params, &name, &times);
  free(params);
  if (name == NULL || strcmp(name, "nobody") == 0) {
    memset(err, 0, sizeof *err);
    err->tag = ARSENAL_OPERATION_TYPES_OP_ERROR_NOT_FOUND;
    err->val.not_found.message = text("there is nobody to greet");
    free(name);
    return false;
  }

  char *line = malloc(64 + strlen(name));
  char *end = put(put(put(line, "greeting "), name), " ");
  end += put_decimal(times, end);
  *put(end, " time(s)") = 0;
  operation_string_t message = text(line);
  free(line);
  arsenal_operation_log_log(ARSENAL_OPERATION_LOG_LEVEL_INFO, &message);
  operation_string_free(&message);

  // Each greeting is `hello, NAME!` with NAME escaped (at most 6 bytes per byte).
  char *escaped = malloc(6 * strlen(name) + 1);
  escaped[json_escape(name, escaped)] = 0;
  char *data = malloc(32 + (size_t)times * (16 + strlen(escaped)));
  char *o = put(data, "{\"greeting\":\"");
  for (long i = 0; i < times; i++) {
    o = put(put(put(o, i ? " hello, " : "hello, "), escaped), "!");
  }
  strcpy(o, "\"}");
  free(escaped);
  free(name);
  ret->data = (operation_string_t){.ptr = (uint8_t *)data, .len = strlen(data)};
  return true;
}
