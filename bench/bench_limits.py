"""Rate limits at scale on loopback: 8 processes, one key, wire's limiter against SDK retries.

The emulator (`wire.testing.serve(enforce_limits=True, tier=1, minute_seconds=5)`,
what `wire serve --enforce-limits --tier 1 --minute-seconds 5` runs) serves in
this process; 8 worker processes share its one key, each with its own client
and nothing shared between them (no coordinator, no store): a worker only sees
the server's responses. Each worker runs 4 threads on its one client, two
sending Opus messages, two Haiku, back to back until the run ends, with varied
sizes (input 50-1,500 tokens, `max_tokens` 16-400; the emulator's replies run
to ~40 tokens or `max_tokens`, whichever is less). A thread per class keeps
every class asked for more than its budget (a thread that drew Opus and waits
for it would otherwise leave Haiku under-asked, and "budget used" would
measure the load, not the limiter).

Contenders, one after the other on a fresh server:
  wire   `wire.sync.Client(limiter=wire.Limiter(), max_retries=2)`: the limiter
         books each request from the headers it has seen and waits its turn
  sdk    `anthropic.Anthropic()` as shipped (max_retries=2): send, take the 429,
         back off and retry

Measured at the server (it wraps `Emulator.respond`, read-only): every
`POST /v1/messages` answered in the run's window, by model class: requests
sent, 200s, 429s, and what the 200s used of each axis (requests, input
tokens, output tokens) against that axis' budget over the window: a full
bucket at the start plus its refill, `limit * (1 + seconds / minute_seconds)`.
The tightest axis of a class is the one most used. Targets (issue 16): at most
2% of requests answered 429, at least 85% of the tightest axis' budget used.

Run from the repository root:
    python bench/bench_limits.py                 # both, 8 processes, 6 windows of 5 s (~80 s)
    python bench/bench_limits.py --only wire --windows 4
    python bench/bench_limits.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: this tree's wire
    sys.path.insert(0, str(ROOT))

KEY = "sk-ant-bench-limits-0000"
MODELS = ("claude-opus-4-6", "claude-haiku-4-5")
AXES = ("requests", "input_tokens", "output_tokens")
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "wizards")


# --- the load: what each worker thread sends --------------------------------------------


def requests(seed: int, model: str) -> Iterator[tuple[str, str, int]]:
    """(model, user text, max_tokens) for ever, sizes spread wide.

    The emulator counts about four characters an input token.
    """
    rng = random.Random(seed)
    while True:
        tokens = rng.randint(50, 1500)
        words: list[str] = []
        length = 0
        while length < 4 * tokens:
            word = rng.choice(WORDS)
            words.append(word)
            length += len(word) + 1
        yield model, " ".join(words), rng.randint(16, 400)


@dataclass
class Counts:
    """What one worker's threads saw: calls that returned, and those that raised (by kind)."""

    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    longest: float = 0.0  # the longest call, in seconds (the limiter's wait included)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, error: str | None, seconds: float) -> None:
        with self.lock:
            self.longest = max(self.longest, seconds)
            if error is None:
                self.ok += 1
            else:
                self.failed[error] += 1


def _wire_sender(base_url: str) -> tuple[Callable[[str, str, int], None], Callable[[], None]]:
    import wire
    from wire.sync import Client

    client = Client(
        api_key=KEY, base_url=base_url, proxy=None, limiter=wire.Limiter(), max_retries=2
    )

    def send(model: str, text: str, max_tokens: int) -> None:
        client.create_message(
            model=model, max_tokens=max_tokens, messages=[{"role": "user", "content": text}]
        )

    return send, client.close


def _sdk_sender(base_url: str) -> tuple[Callable[[str, str, int], None], Callable[[], None]]:
    import anthropic

    client = anthropic.Anthropic(api_key=KEY, base_url=base_url)  # max_retries: its default, 2

    def send(model: str, text: str, max_tokens: int) -> None:
        client.messages.create(
            model=model, max_tokens=max_tokens, messages=[{"role": "user", "content": text}]
        )

    return send, client.close


def worker(kind: str, base_url: str, seed: int, threads: int) -> None:
    """A worker process: ready, then (start, end) on stdin, then its counts as JSON on stdout."""
    send, close = (_wire_sender if kind == "wire" else _sdk_sender)(base_url)
    print("ready", flush=True)
    start, end = map(float, sys.stdin.readline().split())
    counts = Counts()

    def loop(thread_seed: int, model: str) -> None:
        load = requests(thread_seed, model)
        time.sleep(max(0.0, start - time.time()))
        while time.time() < end:
            model, text, max_tokens = next(load)
            began = time.time()
            try:
                send(model, text, max_tokens)
            except Exception as exc:  # counted by kind: a 429 given up on, a timeout, ...
                counts.add(type(exc).__name__, time.time() - began)
            else:
                counts.add(None, time.time() - began)

    # Half the threads send Opus, half Haiku: a thread waiting for one class' budget
    # leaves the other's demand to the others, so every class stays asked for more
    # than its budget (what "budget used" needs to measure the limiter, not the load).
    pool = [
        threading.Thread(target=loop, args=(seed * 100 + i, MODELS[i % len(MODELS)]), daemon=True)
        for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:  # a call still waiting a second after the end would go out after it
        thread.join(max(0.0, end + 1.0 - time.time()))
    waiting = sum(thread.is_alive() for thread in pool)
    figures = {"ok": counts.ok, "failed": dict(counts.failed), "longest": counts.longest}
    print(json.dumps({**figures, "waiting": waiting, "overrun": time.time() - end}), flush=True)
    if waiting:  # threads held by a limiter's or a retry's wait: do not wait for them
        os._exit(0)
    close()


# --- the server side: what the emulator answered ----------------------------------------


@dataclass
class Answer:
    at: float
    status: int
    model_class: str
    input_tokens: int = 0
    output_tokens: int = 0


class Tally:
    """Every `POST /v1/messages` the emulator answers, and the limits each class reported.

    Wraps `emulator.respond` (it only reads what goes in and out).
    """

    def __init__(self, emulator: Any) -> None:
        from wire import RateLimits, model_class

        self.answers: list[Answer] = []
        self.limits: dict[str, RateLimits] = {}
        respond = emulator.respond

        def counted(request: Any, now: float) -> Any:
            response, faults = respond(request, now)
            if request.method == "POST" and request.path == "/v1/messages":
                try:
                    cls = model_class(json.loads(request.body)["model"])
                except (ValueError, KeyError, TypeError):
                    cls = "?"
                answer = Answer(now, response.status, cls)
                if response.status == 200:
                    usage = json.loads(response.body)["usage"]
                    answer.input_tokens = usage["input_tokens"]
                    answer.output_tokens = usage["output_tokens"]
                    self.limits[cls] = RateLimits.from_headers(response.headers)
                self.answers.append(answer)
            return response, faults

        emulator.respond = counted


@dataclass
class Axis:
    used: int
    limit: int | None
    budget: float | None

    @property
    def share(self) -> float | None:
        return None if not self.budget else self.used / self.budget


@dataclass
class ClassReport:
    sent: int
    ok: int
    refused: int
    axes: dict[str, Axis]

    @property
    def tightest(self) -> tuple[str, Axis]:
        return max(self.axes.items(), key=lambda item: item[1].share or 0.0)


@dataclass
class Report:
    kind: str
    seconds: float
    minute_seconds: float
    classes: dict[str, ClassReport]
    workers: list[dict[str, Any]]
    refusals: list[tuple[float, str]]  # each 429: seconds into the run, model class

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.classes.values())

    @property
    def ok(self) -> int:
        return sum(c.ok for c in self.classes.values())

    @property
    def refused(self) -> int:
        return sum(c.refused for c in self.classes.values())

    @property
    def given_up(self) -> int:
        return sum(sum(w["failed"].values()) for w in self.workers)

    @property
    def windows(self) -> float:
        return self.seconds / self.minute_seconds

    def tokens(self) -> int:
        return sum(
            c.axes["input_tokens"].used + c.axes["output_tokens"].used
            for c in self.classes.values()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seconds": self.seconds,
            "minute_seconds": self.minute_seconds,
            "sent": self.sent,
            "ok": self.ok,
            "refused": self.refused,
            "given_up": self.given_up,
            "classes": {
                name: {
                    "sent": c.sent,
                    "ok": c.ok,
                    "refused": c.refused,
                    "axes": {
                        axis: {"used": a.used, "limit": a.limit, "budget": a.budget}
                        for axis, a in c.axes.items()
                    },
                }
                for name, c in self.classes.items()
            },
            "workers": self.workers,
            "refusals": self.refusals,
        }


def report(
    kind: str, tally: Tally, start: float, end: float, minute: float, workers: list[dict[str, Any]]
) -> Report:
    """What the server answered between `start` and `end`, against each class' budget."""
    seconds = end - start
    answers = [a for a in tally.answers if start <= a.at <= end]
    classes: dict[str, ClassReport] = {}
    by_class: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_class[answer.model_class].append(answer)
    for name, mine in sorted(by_class.items()):
        done = [a for a in mine if a.status == 200]
        used = {
            "requests": len(done),
            "input_tokens": sum(a.input_tokens for a in done),
            "output_tokens": sum(a.output_tokens for a in done),
        }
        seen = tally.limits.get(name)
        axes = {}
        for axis in AXES:
            limit = None if seen is None else getattr(seen, axis).limit
            budget = None if limit is None else limit * (1 + seconds / minute)
            axes[axis] = Axis(used[axis], limit, budget)
        refused = sum(1 for a in mine if a.status == 429)
        classes[name] = ClassReport(len(mine), len(done), refused, axes)
    refusals = sorted((round(a.at - start, 3), a.model_class) for a in answers if a.status == 429)
    return Report(kind, seconds, minute, classes, workers, refusals)


# --- a run ------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """The workers' environment: this tree's wire, no proxy, no ANTHROPIC_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith("ANTHROPIC_")
    }
    path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return {**env, "PYTHONPATH": path}


def serve_limited(tier: int, minute_seconds: float) -> Any:
    """The emulator enforcing tier `tier` with a minute of `minute_seconds` seconds."""
    from wire.testing import serve

    return serve(api_key=KEY, enforce_limits=True, tier=tier, minute_seconds=minute_seconds)


def run(
    kind: str,
    *,
    processes: int = 8,
    threads: int = 4,
    windows: float = 6,
    minute_seconds: float = 5.0,
    tier: int = 1,
    seed: int = 0,
) -> Report:
    """One contender's run on a fresh emulator: `processes` workers for `windows` minutes."""
    with serve_limited(tier, minute_seconds) as server:
        tally = Tally(server.emulator)
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, server.base_url]
        procs = [
            subprocess.Popen(
                [*argv, str(seed * 1000 + i), str(threads)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=_env(),
                cwd=ROOT,
            )
            for i in range(processes)
        ]
        try:
            for proc in procs:  # every worker has imported its client and made it
                assert proc.stdout is not None
                line = proc.stdout.readline()
                if line.strip() != "ready":
                    raise RuntimeError(f"a {kind} worker did not start: {line!r}")
            start = time.time() + 0.2
            end = start + windows * minute_seconds
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"{start!r} {end!r}\n")
                proc.stdin.flush()
            # A worker still waiting (a call held by its limiter or a retry) well after the
            # run is stopped: what it sends past `end` is outside the window anyway.
            deadline = end + 2 * minute_seconds + 5
            results = [_result(proc, deadline) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=30)
                for pipe in (proc.stdin, proc.stdout):
                    if pipe is not None and not pipe.closed:
                        pipe.close()
    return report(kind, tally, start, end, minute_seconds, results)


def _result(proc: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """A worker's counts, or (stopped at `deadline`) a note that it ran over."""
    try:
        out, _ = proc.communicate(timeout=max(0.1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"ok": 0, "failed": {}, "longest": None, "overrun": None, "killed": True}
    if proc.returncode:
        raise RuntimeError(f"a worker exited {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# --- printing ---------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.1f}%"


def details(r: Report) -> list[str]:
    """Per class and axis: used / budget, and when the 429s came."""
    lines = [
        f"{r.kind}: {r.sent} requests in {r.seconds:.1f} s ({r.windows:.1f} windows of "
        f"{r.minute_seconds:g} s): {r.ok} answered 200, {r.refused} answered 429 "
        f"({_pct(r.refused / r.sent if r.sent else None)}), {r.given_up} calls given up"
    ]
    for name, c in r.classes.items():
        axis, tight = c.tightest
        lines.append(
            f"  {name}: {c.sent} sent, {c.ok} ok, {c.refused} 429; tightest: {axis} "
            f"{_pct(tight.share)} of its budget"
        )
        for axis, a in c.axes.items():
            budget = "?" if a.budget is None else f"{a.budget:,.0f}"
            lines.append(
                f"    {axis:<14} used {a.used:>9,} of {budget:>9} ({_pct(a.share)}; "
                f"limit {a.limit} a minute)"
            )
    longest = max((w["longest"] for w in r.workers if not w.get("killed")), default=0.0)
    overrun = max((w["overrun"] for w in r.workers if not w.get("killed")), default=0.0)
    killed = sum(1 for w in r.workers if w.get("killed"))
    waiting = sum(w.get("waiting", 0) for w in r.workers)
    lines.append(
        f"  longest call {longest:.1f} s; {waiting} calls still waiting 1 s after the end"
        f" (left); the last worker ended {overrun:.1f} s late"
        + (f" ({killed} stopped, still waiting)" if killed else "")
    )
    if r.refusals:
        per_window = Counter(int(t // r.minute_seconds) for t, _ in r.refusals)
        spread = ", ".join(f"window {w + 1}: {n}" for w, n in sorted(per_window.items()))
        lines.append(f"  429s by window: {spread}")
        if len(r.refusals) <= 40:
            times = ", ".join(f"{t:.2f} {name}" for t, name in r.refusals)
            lines.append(f"  429s at (seconds into the run): {times}")
    return lines


def table(reports: list[Report]) -> list[str]:
    """The side by side table (README's performance section)."""
    head = (
        "client",
        "requests",
        "429s",
        "429 rate",
        "wasted",
        "calls given up",
        "ok / window",
        "tokens / window",
        "tightest axis used",
    )
    rows = [head]
    for r in reports:
        tight = [f"{name} {_pct(c.tightest[1].share)}" for name, c in r.classes.items()]
        rows.append(
            (
                "wire (Limiter)" if r.kind == "wire" else "anthropic SDK",
                f"{r.sent:,}",
                f"{r.refused:,}",
                _pct(r.refused / r.sent if r.sent else None),
                f"{r.sent - r.ok:,}",
                f"{r.given_up:,}",
                f"{r.ok / r.windows:,.0f}",
                f"{r.tokens() / r.windows:,.0f}",
                ", ".join(tight),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        kind, base_url, seed, threads = args[1:5]
        worker(kind, base_url, int(seed), int(threads))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("wire", "sdk"), action="append")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="threads a worker (default: 4)")
    parser.add_argument("--windows", type=float, default=6, help="minutes to run (default: 6)")
    parser.add_argument("--minute-seconds", type=float, default=5.0)
    parser.add_argument("--tier", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    options = parser.parse_args(args)
    reports = []
    for kind in options.only or ("wire", "sdk"):
        print(f"running {kind} ...", file=sys.stderr, flush=True)
        r = run(
            kind,
            processes=options.processes,
            threads=options.threads,
            windows=options.windows,
            minute_seconds=options.minute_seconds,
            tier=options.tier,
        )
        print("\n".join(details(r)), flush=True)
        reports.append(r)
    print()
    print(
        f"{options.processes} processes x {options.threads} threads on one key, tier "
        f"{options.tier}, {options.windows:g} windows of {options.minute_seconds:g} s "
        "(wasted: requests not answered 200; tightest axis used: of its budget, per class)"
    )
    print("\n".join(table(reports)))
    if options.json:
        Path(options.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
