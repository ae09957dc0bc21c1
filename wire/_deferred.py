"""`ErrorGate`: "return the good events, raise the error on the next call", written once.

Layer: core, private. Every incremental decoder (`SSEDecoder`,
`MessageStreamDecoder`, `JSONLDecoder`, `ClientConnection`) may meet an error
after some events of the same call are already decoded. Raising at once
would lose them, and whether they are lost would depend on the chunking. So
the decoder returns them and holds the error here; the next call raises it,
exactly once; every call after that (and after `close()`) is refused with
`LocalProtocolError`. The held error is public as the decoder's
`pending_error`, so a driver knows the answer without reading more bytes.
"""

from __future__ import annotations

from ._errors import LocalProtocolError, WireError

__all__ = ["ErrorGate"]


class ErrorGate:
    """One decoder's failure state: the error held for the next call and why calls are refused.

    A decoder's entry point tests `refusal is not None` (one attribute read on
    the hot path) and only then calls `check()`.
    """

    __slots__ = ("pending", "refusal")

    def __init__(self) -> None:
        self.pending: WireError | None = None
        """The error the next call raises (found after events that were returned)."""
        self.refusal: str | None = None
        """Why calls are refused (the decoder failed or was closed); None while usable."""

    def fail(self, error: WireError, delivered: bool, refusal: str) -> None:
        """The decoder failed: raise `error` now if no event was `delivered`, else hold it."""
        self.refusal = refusal
        if not delivered:
            raise error
        self.pending = error

    def hold(self, error: WireError, refusal: str) -> None:
        """Hold `error` (e.g. one an inner decoder holds) for the next call."""
        self.refusal = refusal
        self.pending = error

    def close(self, refusal: str) -> bool:
        """Raise a held error; else refuse further calls. False when already closed or failed."""
        self.raise_pending()
        if self.refusal is not None:
            return False
        self.refusal = refusal
        return True

    def raise_pending(self) -> None:
        """Raise the held error, once."""
        error = self.pending
        if error is not None:
            self.pending = None
            raise error

    def check(self) -> None:
        """Raise the held error once, then `LocalProtocolError` for every later call."""
        self.raise_pending()
        if self.refusal is not None:
            raise LocalProtocolError(self.refusal)
