// Example operation `fetch_status` in JavaScript: `fetch()` through the standard
// `wasi:http/outgoing-handler`.
//
// GET /api/v1/fetch-status?url=URL fetches URL and answers its status, content type and
// size. The component reaches only the destinations the operator grants it
// (`[components.fetch_status] outbound_hosts`, or its source's `[outbound]` patterns);
// a refused or failed fetch is a 503 `unavailable` naming the URL. Built with
// componentize-js with its `http` feature on (the others off), so it imports `wasi:http`
// and needs the `outbound_http` capability.

import { log } from "arsenal:operation/log@0.2.0";

export const handler = {
  describe() {
    return {
      name: "fetch_status",
      version: "0.1.0",
      category: "custom",
      summary: "Fetch a URL and report its status",
      description: "Fetches `url` over outbound HTTP and answers the status, content type and size.",
      method: "get",
      path: "/api/v1/fetch-status",
      params: [
        {
          name: "url",
          location: "query",
          type: "string",
          required: true,
          description: "An http(s) URL the operator grants this operation",
          constraints: { maxLength: 2048, oneOf: [] },
          sensitive: false,
        },
      ],
      successStatus: 200,
      limits: {},
      additionalParams: false,
      // Destinations the operation asks for (`scheme://host:port`); none takes what the
      // operator grants it whole.
      outboundHosts: [],
      buckets: [],
    };
  },

  // An async `execute`: the runtime runs the event loop until the promise settles.
  async execute(request) {
    const { url } = JSON.parse(request.params);
    let response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw { tag: "unavailable", val: { message: `fetching ${url} failed: ${error}` } };
    }
    const body = await response.arrayBuffer();
    log("info", `fetched ${url}: ${response.status}`);
    return {
      data: JSON.stringify({
        status: response.status,
        contentType: response.headers.get("content-type"),
        bytes: body.byteLength,
      }),
    };
  },
};
