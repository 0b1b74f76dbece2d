"""Example operation `greet` in Python: the same operation as `examples/greet` (Rust).

GET /api/v1/greet/:name?times=N answers {"greeting": "hello, NAME! ..."}; the name
`nobody` is a 404 `not_found`; each greeting is logged. Built with componentize-py
against the world `arsenal:operation/operation`; the `wit_world` package is generated
from the WIT (`componentize-py -d wit/operation -w operation bindings .`).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log
from wit_world.imports.types import (
    Config,
    Constraints,
    ErrorInfo,
    HttpMethod,
    LimitHints,
    OpError_NotFound,
    Param,
    ParamLocation,
    ParamType,
    Request,
    Response,
)


def constraints(**given) -> Constraints:
    """Constraints with only the given ones set."""
    fields = dict(minimum=None, maximum=None, min_length=None, max_length=None,
                  pattern=None, one_of=[])
    fields.update(given)
    return Constraints(**fields)


class Handler(exports.Handler):
    def describe(self) -> Config:
        return Config(
            name="greet",
            version="0.1.0",
            category="custom",
            summary="Greet someone",
            description="",
            method=HttpMethod.GET,
            path="/api/v1/greet/:name",
            params=[
                Param(name="name", location=ParamLocation.PATH, type=ParamType.STRING,
                      items=None, required=True, default=None, description="Who to greet",
                      constraints=constraints(max_length=32), sensitive=False),
                Param(name="times", location=ParamLocation.QUERY, type=ParamType.INTEGER,
                      items=None, required=False, default="1", description="",
                      constraints=constraints(minimum=1.0, maximum=5.0), sensitive=False),
            ],
            success_status=200,
            response_schema=None,
            limits=LimitHints(memory_mib=None, timeout_ms=None),
            additional_params=False,
            outbound_hosts=[],
            buckets=[],
        )

    def execute(self, request: Request) -> Response:
        params = json.loads(request.params)
        name, times = params["name"], params["times"]
        if name == "nobody":
            raise Err(OpError_NotFound(ErrorInfo("there is nobody to greet", None, None)))
        log.log(log.Level.INFO, f"greeting {name} {times} time(s)")
        greeting = " ".join([f"hello, {name}!"] * times)
        return Response(json.dumps({"greeting": greeting}, ensure_ascii=False))
