"""Schemathesis hooks for the run against `cargo lambda watch` in `make test`.

The local emulator cannot carry a JSON body that is not valid UTF-8 (it answers 500
itself, before any function runs), whereas API Gateway base64-encodes such a body;
the handlers' answer to that case (400 malformed-json) is covered in process by
tests/tests/signup.rs. Only those bodies are filtered out here.
"""

import schemathesis


def _is_utf8(value):
    if isinstance(value, (bytes, bytearray)):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def filter_body(ctx, body):
    return _is_utf8(body)
