"""`wire batch create | status | watch | results`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from ._common import _client, _dump, _Fail
from ._offline import _open

if TYPE_CHECKING:
    from wire._batches import MessageBatch

# --- batches ---------------------------------------------------------------------------


def _batch_requests(name: str) -> list[dict[str, Any]]:
    """FILE.jsonl read: one `{"custom_id", "params"}` object a line (blank lines skipped)."""
    requests = []
    with _open(name) as source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                requests.append(json.loads(line))
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
                raise _Fail(f"{name}, line {number}: not JSON ({exc})") from None
    if not requests:
        raise _Fail(f"{name}: no requests (one JSON object a line)")
    return requests


def _counts(batch: MessageBatch) -> str:
    c = batch.request_counts
    return (
        f"{c.processing} processing, {c.succeeded} succeeded, {c.errored} errored, "
        f"{c.canceled} canceled, {c.expired} expired"
    )


def _batch_line(batch: MessageBatch) -> str:
    return f"{batch.id}: {batch.processing_status}; {_counts(batch)}"


def _print_batch(batch: MessageBatch, as_json: bool) -> None:
    print(_dump(batch.to_dict(), indent=2) if as_json else _batch_line(batch), flush=True)


def _batch_create(args: argparse.Namespace) -> int:
    requests = _batch_requests(args.file)
    with _client(args) as client:
        _print_batch(client.create_batch(requests), args.json)
    return 0


def _batch_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _print_batch(client.get_batch(args.id), args.json)
    return 0


def _bar(batch: MessageBatch, width: int = 30) -> str:
    """A progress bar of the requests no longer processing."""
    c = batch.request_counts
    done = c.total - c.processing
    filled = width * done // c.total if c.total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{c.total} {batch.processing_status}"


def _batch_watch(args: argparse.Namespace) -> int:
    """Poll the batch until it ends: a live bar on a terminal, a line per change otherwise."""
    live = sys.stdout.isatty()
    last = ""
    with _client(args) as client:
        while True:
            batch = client.get_batch(args.id)
            if live:
                print(f"\r{_bar(batch)} ({_counts(batch)})\x1b[K", end="", flush=True)
            elif (line := _batch_line(batch)) != last:
                print(line, flush=True)
                last = line
            if batch.processing_status == "ended":
                break
            time.sleep(args.interval)
    if live:
        print()
    return 0


def _batch_results(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for result in client.batch_results(args.id):
            print(_dump(result.to_dict()), flush=True)
    return 0
