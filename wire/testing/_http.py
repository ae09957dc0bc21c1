"""What the testing kit's servers share (emulator, replay, recorder): request bounds,
request ids and the API's error envelope, so all three answer a bad request alike.

Layer: testing kit; h11 values only (no socket, no event loop).
"""

from __future__ import annotations

import json
import random

import h11

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_HEAD_BYTES",
    "MAX_REQUEST_BYTES",
    "api_id",
    "body_limit",
    "error_envelope",
    "refusal",
]

# The API refuses larger Messages requests (413, PROTOCOL.md §5); so do the kit's
# servers, which also bounds what a hostile client can make them hold. Batch creation
# takes up to 256 MB, as the API's does.
MAX_REQUEST_BYTES = 32 * 1000 * 1000
MAX_BATCH_BYTES = 256 * 1000 * 1000
# A request head (request line and headers) larger than this is refused by h11 (431/400).
MAX_HEAD_BYTES = 64 * 1024

_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def body_limit(event: h11.Request) -> int:
    """How large a body this request may send: 256 MB to create a batch, else 32 MB."""
    path = bytes(event.target).split(b"?", 1)[0].rstrip(b"/")
    if event.method == b"POST" and path.endswith(b"/v1/messages/batches"):
        return MAX_BATCH_BYTES
    return MAX_REQUEST_BYTES


def api_id(rng: random.Random, prefix: str) -> str:
    """An id in the API's style (prefix, "01", 22 characters) drawn from `rng`."""
    return prefix + "01" + "".join(rng.choice(_ID_ALPHABET) for _ in range(22))


def error_envelope(error_type: str, message: str, request_id: str | None = None) -> bytes:
    """The API's error body: `{"type": "error", "error": {...}, "request_id": ...}`."""
    envelope: dict[str, object] = {
        "type": "error",
        "error": {"type": error_type, "message": message},
    }
    if request_id is not None:
        envelope["request_id"] = request_id
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def refusal(status: int, error_type: str, message: str, request_id: str, server: str) -> bytes:
    """A whole error response that closes the connection (a request that cannot be read on),
    written without h11 so it goes out whatever state the connection is in."""
    body = error_envelope(error_type, message, request_id)
    head = (
        f"HTTP/1.1 {status} Error\r\ncontent-type: application/json\r\n"
        f"request-id: {request_id}\r\nserver: {server}\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
