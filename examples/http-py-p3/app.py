"""A WASI 0.3 `wasi:http` handler in Python, as `wasmtime serve` would run it:
componentize-py's async support against the world `http-p3` of `tests/guests/http-p3/wit`
(`wasi:http/service@0.3.0`), exporting `wasi:http/handler` as an `async def handle`.

It answers 201 with its own headers and a JSON body naming the method, path, query, the
`x-echo` header, whether an `authorization` header reached it, and the body it read — as
the 0.2 handlers do. The body is written by a task it spawns, after `handle` returned the
response. Served as an Arsenal operation at the route its operator declares
(docs/http-handlers.md).
"""

import json

import componentize_py_async_support
import wit_world
from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.wasi_http_types import Fields, Method_Other, Request, Response


def method_name(method) -> str:
    """The request's method as text."""
    if isinstance(method, Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


async def read_all(contents) -> bytes:
    """The whole of a body's stream."""
    received = b""
    with contents:
        while not contents.writer_dropped:
            received += await contents.read(16384)
    return received


async def write_all(sink, data: bytes) -> None:
    """Write `data` to a body's stream, then end it."""
    with sink:
        await sink.write_all(data)


class Handler(exports.Handler):
    async def handle(self, request: Request) -> Response:
        path_with_query = request.get_path_with_query() or ""
        path, _, query = path_with_query.partition("?")
        headers = request.get_headers()
        echo = headers.get("x-echo")
        authorization = bool(headers.get("authorization"))
        method = method_name(request.get_method())
        taken = wit_world.result_unit_wasi_http_types_error_code_future(lambda: Ok(None))[1]
        contents, _trailers = Request.consume_body(request, taken)
        answer = {
            "method": method,
            "path": path,
            "query": query,
            "echo": echo[0].decode() if echo else None,
            "authorization": authorization,
            "body": (await read_all(contents)).decode(errors="replace"),
        }
        sink, body = wit_world.byte_stream()
        componentize_py_async_support.spawn(write_all(sink, json.dumps(answer).encode()))
        out_headers = Fields.from_list(
            [("content-type", b"application/json"), ("x-handled-by", b"http-py-p3")]
            + ([("x-echo", echo[0])] if echo else [])
        )
        no_trailers = wit_world.result_option_wasi_http_types_fields_wasi_http_types_error_code_future(
            lambda: Ok(None)
        )[1]
        response, _sent = Response.new(out_headers, body, no_trailers)
        response.set_status_code(201)
        return response
