"""The commands that call the API: send, stream, count-tokens, models, limits."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from ._common import _client, _dump, _messages, _run

if TYPE_CHECKING:
    from wire._connection import ResponseHead
    from wire._message import Message
    from wire._ratelimit import RateLimits
    from wire.sync import Client


def _text(message: Message) -> str:
    """The message's text blocks, and a `[type]` mark for each other block."""
    from wire._message import TextBlock

    parts = [b.text if isinstance(b, TextBlock) else f"[{b.type}]" for b in message.content]
    return "".join(parts)


def _summary(message: Message | None, head: ResponseHead | None) -> str:
    request_id = None if head is None else head.request_id
    if message is None:
        return f"no message; request id: {request_id}"
    usage = message.usage
    return (
        f"stop reason: {message.stop_reason}; usage: {usage.input_tokens} input, "
        f"{usage.output_tokens} output tokens; request id: {request_id}"
    )


def _send(args: argparse.Namespace) -> int:
    with _client(args) as client:
        call = client._session.create_message(max_tokens=args.max_tokens, **_messages(args))
        message, head = _run(client, call)
    if args.json:
        print(_dump(message.to_dict(), indent=2), flush=True)
    else:
        print(_text(message), flush=True)
    print(_summary(message, head), file=sys.stderr)
    return 0


def _delta_text(event: object) -> str | None:
    """The text a `text_delta` event adds; None for every other event."""
    from wire._events import ContentBlockDelta, TextDelta

    if isinstance(event, ContentBlockDelta) and isinstance(event.delta, TextDelta):
        return event.delta.text
    return None


def _stream(args: argparse.Namespace) -> int:
    with _client(args) as client:
        stream = client.stream_message(max_tokens=args.max_tokens, **_messages(args))
        with stream:
            for event in stream:
                if args.json:
                    print(_dump(event.to_dict()), flush=True)
                elif (text := _delta_text(event)) is not None:
                    print(text, end="", flush=True)
    if not args.json:
        print(flush=True)
    print(_summary(stream.message, stream.response), file=sys.stderr)
    return 0


def _count_tokens(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(client.count_tokens(**_messages(args)))
    return 0


def _models(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for model in client.list_models():
            if args.json:
                print(_dump(model.to_dict()), flush=True)
            else:
                print(f"{model.id:<32} {model.display_name:<24} {model.created_at}", flush=True)
    return 0


# --- rate limits -------------------------------------------------------------------------


def _limits_left(limits: RateLimits) -> str:
    """One line: what is left of each limit the response reported."""
    from wire._budget import count, reported

    parts = [
        f"{name} {count(lim.remaining)}/{count(lim.limit)}" for _, name, lim in reported(limits)
    ]
    return "rate limits left: " + (", ".join(parts) or "none reported")


def _budget(client: Client, args: argparse.Namespace, watching: bool) -> list[str]:
    """One small request (max_tokens 1): the lines showing the budget its response reports.

    While watching, a 429 (after the client's retries) is shown too, with the limits it
    carried, and the watch goes on.
    """
    from wire._budget import budget_json, budget_table
    from wire._errors import RateLimitError
    from wire._ratelimit import RateLimits, model_class

    call = client._session.create_message(max_tokens=1, **_messages(args))
    try:
        _, head = _run(client, call)
    except RateLimitError as exc:
        if not watching:
            raise
        limits = RateLimits.from_headers(exc.headers, now=time.time())
        wait = "?" if limits.retry_after is None else f"{limits.retry_after:g}"
        title = f"answered 429, retry after {wait} s; request id {exc.request_id}"
    else:
        assert head is not None  # a call that returned has its response
        limits, title = head.rate_limits, f"request id {head.request_id}"
    if args.json:
        return [_dump(budget_json(limits))]
    title = f"rate limits for {args.model} (class {model_class(args.model)}; {title}):"
    return [title, *budget_table(limits, time.time())]


def _limits(args: argparse.Namespace) -> int:
    """The budget once, or (`--watch`) every few seconds until Ctrl-C or `--count` rounds."""
    watching = args.watch is not None
    rounds = args.count if watching else 1
    redraw = watching and not args.json and sys.stdout.isatty()
    shown = 0
    with _client(args) as client:
        while True:
            lines = _budget(client, args, watching)
            if redraw and shown:  # back to the table's first line, and clear below it
                print(f"\x1b[{shown}F\x1b[J", end="")
            elif shown and not args.json:
                print()
            print("\n".join(lines), flush=True)
            shown = len(lines)
            rounds = None if rounds is None else rounds - 1
            if rounds == 0:
                return 0
            time.sleep(args.watch)
