"""N independent `Limiter`s on one key against a simulated server, on a fake clock.

The server keeps, per model class, three continuously refilling buckets as the
API does (PROTOCOL.md §7): a request is admitted when the requests bucket holds
1, the input bucket its input tokens and the output bucket is not negative;
input is charged on admission, output when the response ends (as produced).
Its headers: exact request counts, token `remaining` rounded to the nearest
thousand, `reset` when a bucket is full again; they reach the client a latency
later. Each limiter has its own tasks (half on Opus, half on Haiku: a task waiting
on one class would otherwise starve the other of demand, which is no fault of
the limiter) and sees only its own responses: no coordinator. Nothing here reads a real clock.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

import wire
from wire import Limit, Limiter, RateLimits

WALL = 1_790_000_000.0  # the epoch time at simulated time 0
WINDOW = 5.0  # a shortened minute, as `wire serve --minute-seconds 5`
LATENCY = 0.01  # each way
TIER = {  # (requests, input tokens, output tokens) per minute, as the emulator's tier 1
    "claude-opus-4-6": (25, 30_000, 8_000),
    "claude-haiku-4-5": (50, 50_000, 10_000),
}
SIZES = {  # (input tokens, max_tokens) ranges
    "claude-opus-4-6": ((100, 1_400), (50, 500)),
    "claude-haiku-4-5": ((200, 2_000), (50, 600)),
}


@dataclass
class ServerClass:
    limits: tuple[int, int, int]
    levels: list[float]
    at: float = 0.0
    used: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def refill(self, now: float) -> None:
        for axis, limit in enumerate(self.limits):
            rate = limit / WINDOW
            self.levels[axis] = min(limit, self.levels[axis] + rate * (now - self.at))
        self.at = now

    def admit(self, now: float, input_tokens: int) -> float | None:
        """Charge a request arriving at `now`; None if admitted, else the retry-after."""
        self.refill(now)
        need = (1.0, float(input_tokens), 0.0)
        short = [
            (need[axis] - level) / (limit / WINDOW)
            for axis, (level, limit) in enumerate(zip(self.levels, self.limits, strict=True))
            if level < need[axis]
        ]
        if short:
            return max(short)
        for axis in (0, 1):
            self.levels[axis] -= need[axis]
            self.used[axis] += need[axis]
        return None

    def produced(self, now: float, output_tokens: int) -> None:
        self.refill(now)
        self.levels[2] -= output_tokens
        self.used[2] += output_tokens

    def headers(self, now: float, retry_after: float | None) -> RateLimits:
        def limit(axis: int) -> Limit:
            size, level = self.limits[axis], self.levels[axis]
            reset = WALL + now + max(0.0, size - level) / (size / WINDOW)
            left = max(0, math.floor(level))
            if axis:
                left = round(left / 1000) * 1000
            return Limit(size, left, round(reset, 3))

        return RateLimits(
            requests=limit(0),
            input_tokens=limit(1),
            output_tokens=limit(2),
            retry_after=retry_after,
        )


@dataclass
class Outcome:
    sent: int
    refused: int
    use: dict[str, float]  # per class: the tightest axis' share of its budget
    refusals: list[float]  # when each 429 was answered

    def first_window(self) -> int:
        return sum(1 for t in self.refusals if t < WINDOW)


class Sim:
    """The event queue, the server and the limiters' tasks of one simulated run."""

    def __init__(self, clients: int, tasks: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.server = {
            wire.model_class(m): ServerClass(limits, [float(x) for x in limits])
            for m, limits in TIER.items()
        }
        self.queue: list[tuple[float, int, Callable[[float], None]]] = []
        self.order = itertools.count()
        self.sent = 0
        self.refusals: list[float] = []
        models = itertools.cycle(TIER)  # each limiter's tasks alternate classes: every class
        for _ in range(clients):  # always has a task waiting, none waits behind the other
            limiter = Limiter()
            for _ in range(tasks):  # all start at once: the cold start is part of the run
                self.at(self.rng.uniform(0, 0.05), self.task(limiter, next(models)))

    def at(self, when: float, then: Callable[[float], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.order), then))

    def run(self, seconds: float) -> Outcome:
        while self.queue and self.queue[0][0] < seconds:
            now, _, then = heapq.heappop(self.queue)
            then(now)
        use = {}
        for name, cls in self.server.items():
            budgets = [limit + limit / WINDOW * seconds for limit in cls.limits]
            use[name] = max(u / b for u, b in zip(cls.used, budgets, strict=True))
        return Outcome(self.sent, len(self.refusals), use, self.refusals)

    def task(self, limiter: Limiter, model: str) -> Callable[[float], None]:
        """A task sending `model` requests back to back through `limiter`."""
        rng, cls = self.rng, self.server[wire.model_class(model)]

        def start(now: float) -> None:
            (lo_in, hi_in), (lo_out, hi_out) = SIZES[model]
            input_tokens = rng.randint(lo_in, hi_in)
            max_tokens = rng.randint(lo_out, hi_out)
            output = rng.randint(max_tokens // 4, max_tokens)
            estimate = round(input_tokens * rng.uniform(0.85, 1.15))
            booked = limiter.book(now, model=model, input_tokens=estimate, output_tokens=max_tokens)
            if not booked.booked:  # the class's first requests are unanswered: ask again
                self.at(booked.send_at, start)
                return

            def arrive(t: float) -> None:
                self.sent += 1
                retry_after = cls.admit(t, input_tokens)
                head = cls.headers(t, retry_after)
                if retry_after is not None:
                    self.refusals.append(t)
                self.at(t + LATENCY, lambda t: answered(t, head, retry_after is None))
                if retry_after is None:
                    self.at(t + 0.05 + output / 4000, end)  # after its generation time

            def answered(t: float, head: RateLimits, admitted: bool) -> None:
                limiter.update(t, head, model=model, wall=WALL + t)
                if not admitted:
                    limiter.record_usage(t, booked)
                    start(t)

            def end(t: float) -> None:
                cls.produced(t, output)
                self.at(t + LATENCY, finish)

            def finish(t: float) -> None:
                limiter.record_usage(t, booked, input_tokens=input_tokens, output_tokens=output)
                start(t)

            self.at(booked.send_at + LATENCY, arrive)

        return start


def simulate(clients: int, tasks: int, seconds: float, seed: int) -> Outcome:
    return Sim(clients, tasks, seed).run(seconds)


CASES = [(1, 8), (1, 16), (2, 2), (2, 8), (8, 2), (8, 4), (8, 8)]


@pytest.mark.parametrize(("clients", "tasks"), CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_limiters_sharing_a_key_stay_under_it_and_use_it(
    clients: int, tasks: int, seed: int
) -> None:
    """Counted from the first moment: all limiters start at once, knowing nothing."""
    outcome = simulate(clients, tasks, 6 * WINDOW, seed)
    assert outcome.sent > 400
    assert outcome.refused <= 0.02 * outcome.sent, outcome
    assert min(outcome.use.values()) >= 0.85, outcome


@pytest.mark.parametrize(("clients", "tasks"), CASES)
def test_a_cold_start_costs_a_few_429s_at_most(clients: int, tasks: int) -> None:
    """8 limiters of 8 tasks, each taking the whole key as its own until it knew
    better, drew 7-9 429s in the first 0.1 s (32 Opus requests sent blind into
    a bucket of 25, then a second round on the first responses)."""
    outcome = simulate(clients, tasks, WINDOW, 3)
    assert outcome.first_window() <= 3, outcome
