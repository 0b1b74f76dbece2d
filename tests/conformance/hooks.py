"""Schemathesis hooks for the conformance test (tests/conformance/main.rs)."""

import schemathesis

# Components are uploaded as `application/wasm`: bytes, sent as they are.
schemathesis.serializer.alias("application/wasm", "application/octet-stream")
