"""A `wasi:http` handler in Python, as Spin or `wasmtime serve` would run it: the world
exports `wasi:http/incoming-handler` (componentize-py against `tests/wit/http-handler`).

It answers 201 with its own headers and a JSON body naming the method, path, query, the
`x-echo` header, whether an `authorization` header reached it, and the body it read.
Served as an Arsenal operation at the route its operator declares
(docs/http-handlers.md).
"""

import json

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Other,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


def method_name(method) -> str:
    """The request's method as text."""
    if isinstance(method, Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


def read_body(request: IncomingRequest) -> bytes:
    """The whole request body."""
    body = request.consume()
    stream = body.stream()
    received = b""
    while True:
        try:
            received += stream.blocking_read(16384)
        except Err as error:
            if isinstance(error.value, StreamError_Closed):
                break
            raise
    stream.__exit__(None, None, None)
    return received


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path_with_query = request.path_with_query() or ""
        path, _, query = path_with_query.partition("?")
        headers = request.headers()
        echo = headers.get("x-echo")
        answer = {
            "method": method_name(request.method()),
            "path": path,
            "query": query,
            "echo": echo[0].decode() if echo else None,
            "authorization": headers.has("authorization"),
            "body": read_body(request).decode(errors="replace"),
        }
        out_headers = Fields.from_list(
            [("content-type", b"application/json"), ("x-handled-by", b"http-py")]
            + ([("x-echo", echo[0])] if echo else [])
        )
        response = OutgoingResponse(out_headers)
        response.set_status_code(201)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        stream = body.write()
        data = json.dumps(answer).encode()
        # One blocking write takes at most 4096 bytes.
        for start in range(0, len(data), 4096):
            stream.blocking_write_and_flush(data[start : start + 4096])
        stream.__exit__(None, None, None)
        OutgoingBody.finish(body, None)
