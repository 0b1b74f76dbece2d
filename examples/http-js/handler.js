// A `wasi:http` handler in JavaScript, as Spin or `wasmtime serve` would run it: a
// componentize-js fetch-event handler. It answers 201 with its own headers and a JSON body
// naming the method, path, query, the `x-echo` header, whether an `authorization` header
// reached it, and the body it read. Served as an Arsenal operation at the route its
// operator declares (docs/http-handlers.md).

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const body = await request.text();
  const echo = request.headers.get("x-echo");
  const answer = {
    method: request.method,
    path: url.pathname,
    query: url.search.slice(1),
    echo,
    authorization: request.headers.has("authorization"),
    body,
  };
  const headers = { "content-type": "application/json", "x-handled-by": "http-js" };
  if (echo !== null) {
    headers["x-echo"] = echo;
  }
  return new Response(JSON.stringify(answer), { status: 201, headers });
}
