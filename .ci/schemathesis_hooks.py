"""schemathesis hooks for .ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS)."""

import re
import uuid

import schemathesis

# The Idempotency-Key parameter's schema in the OpenAPI document.
WELL_FORMED_KEY = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?")


@schemathesis.hook
def before_call(context, case, kwargs):
    # An Idempotency-Key names one request: the same key with another request is 422 (IETF
    # draft; tests/api covers it). The fuzzer draws keys from a small space and would reuse one
    # across different requests, so a well-formed key is made unique; malformed keys (negative
    # cases) are sent as drawn.
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and WELL_FORMED_KEY.fullmatch(str(value)):
            headers[name] = str(uuid.uuid4())
