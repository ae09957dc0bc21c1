"""Compressed-body benchmark: a realistic gzipped SSE stream through `ClientConnection`.

Cases (bench_stream's realistic stream of 2,000 text deltas, ~240 KB of SSE):
  identity      the stream uncompressed (the baseline the others add to)
  gzip-whole    gzipped as one member (~24x), as a server compressing the whole body
  gzip-flushed  gzip with a sync flush after every event (~8x), as a streaming server
  gzip-members  one gzip member per event
each fed as chunked HTTP in 16 KiB pieces, response head to `ResponseComplete`.

Method as in bench_stream.py: the events are checked before timing; each sample
repeats one call for >= 0.2 s; `gc.collect()` + `gc.freeze()` before each; the
figure is the best of 7 samples (median beside it), cases interleaved.

To compare two versions of wire, run this file with each on PYTHONPATH, e.g.
    git archive <commit> wire | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before python bench/bench_inflate.py
    PYTHONPATH=. python bench/bench_inflate.py
The exit status is 1 when a case decoded wrongly (it gets no figure).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stream import realistic_stream

import wire
from wire._connection import ClientConnection
from wire.builders import Request

POST = Request("POST", "/v1/messages", (("content-type", "application/json"),), b"{}")
CHUNK = 16 * 1024


def _response(body: bytes, encoding: str) -> list[bytes]:
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        f"content-encoding: {encoding}\r\ntransfer-encoding: chunked\r\n\r\n"
    ).encode()
    framed = b"".join(
        f"{len(body[i : i + 4096]):x}\r\n".encode() + body[i : i + 4096] + b"\r\n"
        for i in range(0, len(body), 4096)
    )
    raw = head + framed + b"0\r\n\r\n"
    return [raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK)]


def cases() -> dict[str, list[bytes]]:
    raw = realistic_stream(2000).raw
    events = [part + b"\n\n" for part in raw.split(b"\n\n") if part]
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    flushed = b"".join(packer.compress(e) + packer.flush(zlib.Z_SYNC_FLUSH) for e in events)
    flushed += packer.flush()
    return {
        "identity": _response(raw, "identity"),
        "gzip-whole": _response(gzip.compress(raw), "gzip"),
        "gzip-flushed": _response(flushed, "gzip"),
        "gzip-members": _response(b"".join(gzip.compress(e) for e in events), "gzip"),
    }


def decode(chunks: list[bytes]) -> list[object]:
    client = ClientConnection("api.anthropic.com")
    client.send_request(POST)
    events: list[object] = []
    for chunk in chunks:
        events.extend(client.receive_data(chunk))
    return events


def sample(run: Callable[[], object], min_seconds: float = 0.2) -> float:
    gc.collect()
    gc.freeze()
    try:
        calls, start = 0, time.perf_counter()
        while True:
            run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls
    finally:
        gc.unfreeze()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    inputs = cases()
    expected = decode(inputs["identity"])
    ratios, wrong = {}, []
    for name, chunks in list(inputs.items()):
        ratios[name] = len(b"".join(inputs["identity"])) / len(b"".join(chunks))
        try:
            right = decode(chunks)[1:] == expected[1:]
        except wire.WireError:
            right = False
        if not right:
            wrong.append(name)
            del inputs[name]
    times: dict[str, list[float]] = {name: [] for name in inputs}
    names = list(inputs)
    for round_ in range(args.samples):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            chunks = inputs[name]
            times[name].append(sample(lambda chunks=chunks: decode(chunks)))
    print(f"wire {wire.__version__} from {Path(wire.__file__).parent}")
    print(f"{'case':<14} {'ratio':>6} {'best ms':>9} {'median ms':>10} {'MB/s':>7}")
    size = len(realistic_stream(2000).raw)
    for name in wrong:
        print(f"{name:<14} {ratios[name]:>5.1f}x  wrong events: no figure")
    for name, values in times.items():
        best = min(values)
        print(
            f"{name:<14} {ratios[name]:>5.1f}x {best * 1e3:>9.2f} "
            f"{statistics.median(values) * 1e3:>10.2f} {size / best / 1e6:>7.1f}"
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
