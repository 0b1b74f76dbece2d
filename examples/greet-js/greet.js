// Example operation `greet` in JavaScript: the same operation as `examples/greet` (Rust).
//
// GET /api/v1/greet/:name?times=N answers {"greeting": "hello, NAME! ..."}; the name
// `nobody` is a 404 `not_found`; each greeting is logged. Built with componentize-js
// against the world `arsenal:operation/operation` (see build.mjs); the typings in
// types/ are generated from the WIT by `jco types`.

import { log } from "arsenal:operation/log@0.2.0";

/** Constraints with only the given ones set. */
function constraints(given) {
  return { oneOf: [], ...given };
}

export const handler = {
  describe() {
    return {
      name: "greet",
      version: "0.1.0",
      category: "custom",
      summary: "Greet someone",
      description: "",
      method: "get",
      path: "/api/v1/greet/:name",
      params: [
        {
          name: "name",
          location: "path",
          type: "string",
          required: true,
          description: "Who to greet",
          constraints: constraints({ maxLength: 32 }),
          sensitive: false,
        },
        {
          name: "times",
          location: "query",
          type: "integer",
          required: false,
          default: "1",
          description: "",
          constraints: constraints({ minimum: 1, maximum: 5 }),
          sensitive: false,
        },
      ],
      successStatus: 200,
      limits: {},
      additionalParams: false,
      outboundHosts: [],
      buckets: [],
    };
  },

  execute(request) {
    const { name, times } = JSON.parse(request.params);
    if (name === "nobody") {
      // A thrown value becomes the `err` of `result<response, op-error>`.
      throw { tag: "not-found", val: { message: "there is nobody to greet" } };
    }
    log("info", `greeting ${name} ${times} time(s)`);
    const greeting = Array(times).fill(`hello, ${name}!`).join(" ");
    return { data: JSON.stringify({ greeting }) };
  },
};
