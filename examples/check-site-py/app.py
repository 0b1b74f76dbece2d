"""Example operation `check_site` in Python: calls out over HTTP and keeps a counter in
key-value storage, through the standard WASI interfaces.

`POST /api/v1/check-site {"url": URL}` GETs URL through `wasi:http/outgoing-handler`,
counts the check in the operation's own bucket `checks` (`wasi:keyvalue`: kept across
restarts of the host, shared by a cluster's nodes) and answers the status with the number
of checks of that URL so far. The operator grants the capabilities `outbound_http` and
`key_value` and the destinations (`[components.check_site] outbound_hosts`); a destination
outside the grant is a 503 `unavailable` naming the guest-visible error.

Built with componentize-py against `wit/world.wit` (the operation world plus those
imports) and no `--stub-wasi`: CPython's own `wasi:filesystem` and `wasi:sockets` imports
are linked closed by the host, so `print`, `time` and `random` work too.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import atomics, log, outgoing_handler, store
from wit_world.imports import wasi_http_types as http
from wit_world.imports.arsenal_operation_types import (
    Config,
    Constraints,
    ErrorInfo,
    HttpMethod,
    LimitHints,
    OpError_Unavailable,
    Param,
    ParamLocation,
    ParamType,
    Request,
    Response,
)


def unavailable(message: str) -> Err:
    return Err(OpError_Unavailable(ErrorInfo(message, None, None)))


def error_name(code: object) -> str:
    """A `wasi:http` error code as the WIT names it: `ErrorCode_HttpRequestDenied()` is
    `http-request-denied`."""
    name = type(code).__name__.removeprefix("ErrorCode_")
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def get(url: str) -> int:
    """GET `url`; its status. A failure raises the operation's 503."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    request = http.OutgoingRequest(http.Fields.from_list([]))
    request.set_method(http.Method_Get())
    request.set_scheme(http.Scheme_Https() if scheme == "https" else http.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(slash + path)
    body = request.body()
    try:
        future = outgoing_handler.handle(request, None)
    except Err as error:
        raise unavailable(f"GET {url} was refused: {error_name(error.value)}")
    http.OutgoingBody.finish(body, None)
    while (answer := future.get()) is None:
        future.subscribe().block()
    outcome = answer.value
    if isinstance(outcome, Err):
        raise unavailable(f"GET {url} failed: {error_name(outcome.value)}")
    return outcome.value.status()


class Handler(exports.Handler):
    def describe(self) -> Config:
        return Config(
            name="check_site",
            version="0.1.0",
            category="custom",
            summary="Check a site and count the checks",
            description="GETs `url` and answers its status and how often it was checked.",
            method=HttpMethod.POST,
            path="/api/v1/check-site",
            params=[
                Param(name="url", location=ParamLocation.BODY, type=ParamType.STRING,
                      items=None, required=True, default=None,
                      description="An http(s) URL the operator grants this operation",
                      constraints=Constraints(minimum=None, maximum=None, min_length=None,
                                              max_length=2048, pattern=None, one_of=[]),
                      sensitive=False),
            ],
            success_status=200,
            response_schema=None,
            limits=LimitHints(memory_mib=None, timeout_ms=None),
            additional_params=False,
            # Destinations asked for (none takes the operator's grant whole); the bucket
            # `checks` is the operation's own, so it needs no grant.
            outbound_hosts=[],
            buckets=[],
        )

    def execute(self, request: Request) -> Response:
        url = json.loads(request.params)["url"]
        status = get(url)
        checks = atomics.increment(store.open("checks"), url, 1)
        log.log(log.Level.INFO, f"{url} answered {status} (check {checks})")
        return Response(json.dumps({"url": url, "status": status, "checks": checks}))
