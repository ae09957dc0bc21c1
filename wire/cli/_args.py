"""The argument parser: every command, its options and their checks."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from wire._version import __version__

from ._api import _count_tokens, _limits, _models, _send, _stream
from ._batch import _batch_create, _batch_results, _batch_status, _batch_watch
from ._common import _MODEL
from ._offline import _decode, _demo, _record, _serve

if TYPE_CHECKING:
    pass

# --- arguments -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (it prints the usage block otherwise)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: Callable[[str], Any], low: float, high: float, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


_port = _number(int, 0, 65535, "a port number (0 to 65535; 0: any free port)")
_count = _number(int, 0, 1_000_000, "a whole number >= 0")
_tokens = _number(int, 1, 10_000_000, "a number of tokens >= 1")
_rounds = _number(int, 1, 1_000_000, "a whole number >= 1")
_seconds = _number(float, 0.001, 1e6, "a number of seconds > 0")
_speed = _number(float, 0, 1e6, "a speed (1: the recorded pace, 10: ten times faster, 0: at once)")


def _chaos(text: str) -> object:
    """`--chaos SEED[:RATE]`, checked here (the emulator module needs nothing else)."""
    from wire.testing.chaos import Chaos

    try:
        return Chaos.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _api_options() -> argparse.ArgumentParser:
    """The options of every command that calls the API."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("API options")
    group.add_argument(
        "--base-url",
        help="the API's URL (default: ANTHROPIC_BASE_URL, else https://api.anthropic.com)",
    )
    group.add_argument("--api-key", help="the API key (default: ANTHROPIC_API_KEY); never printed")
    group.add_argument("--max-retries", type=_count, default=2, help="retries (default: 2)")
    group.add_argument(
        "--timeout", type=_seconds, default=None, help="seconds for each wait (default: wire's)"
    )
    group.add_argument("--json", action="store_true", help="print JSON instead of text")
    return options


def _prompt_options(max_tokens: bool = True) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("prompt", nargs="+", help="the user message (words are joined)")
    options.add_argument("--model", default=_MODEL, help=f"(default: {_MODEL})")
    options.add_argument("--system", help="a system prompt")
    if max_tokens:
        options.add_argument("--max-tokens", type=_tokens, default=1024, help="(default: 1024)")
    return options


def _limits_command(commands: Any, api: argparse.ArgumentParser) -> None:
    limits = commands.add_parser(
        "limits",
        parents=[api],
        help="the rate-limit budget a request reports (--watch: again and again)",
        description="Send one small message (max_tokens 1) and print the budget its response "
        "reports, as a table: each limit, what remains of it, the share left and when it is "
        "full again. --watch repeats every few seconds until Ctrl-C (each round is one such "
        "request).",
    )
    limits.add_argument("--model", default=_MODEL, help=f"(default: {_MODEL})")
    limits.add_argument(
        "--watch",
        type=_seconds,
        nargs="?",
        const=2.0,
        metavar="SECONDS",
        help="redraw every SECONDS (default: 2) until Ctrl-C",
    )
    limits.add_argument("--count", type=_rounds, default=None, help=argparse.SUPPRESS)
    limits.set_defaults(run=_limits, prompt=["Hi"], system=None)


def _api_commands(commands: Any) -> None:
    api = _api_options()
    prompt = _prompt_options()
    for name, run, what in (
        ("send", _send, "send a message; print the reply (summary on stderr)"),
        ("stream", _stream, "stream a message; print the text as it arrives"),
    ):
        command = commands.add_parser(name, parents=[api, prompt], help=what, description=what)
        command.set_defaults(run=run)
    count = commands.add_parser(
        "count-tokens", parents=[api, _prompt_options(max_tokens=False)], help="count tokens"
    )
    count.set_defaults(run=_count_tokens)
    models = commands.add_parser("models", parents=[api], help="list the models")
    models.set_defaults(run=_models)
    _limits_command(commands, api)
    batch = commands.add_parser("batch", help="message batches: create, status, watch, results")
    actions = batch.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = actions.add_parser(
        "create", parents=[api], help='create a batch from FILE.jsonl ({"custom_id", "params"})'
    )
    create.add_argument("file", help="one request a line")
    create.set_defaults(run=_batch_create)
    for name, run, what in (
        ("status", _batch_status, "print a batch's status and request counts"),
        ("watch", _batch_watch, "follow a batch until it ends (a live bar on a terminal)"),
        ("results", _batch_results, "print a batch's results as JSON lines"),
    ):
        action = actions.add_parser(name, parents=[api], help=what, description=what)
        action.add_argument("id", help="the batch id (msgbatch_...)")
        action.set_defaults(run=run)
        if name == "watch":
            action.add_argument(
                "--interval", type=_seconds, default=2.0, help="seconds between polls (default: 2)"
            )


def _record_command(commands: Any) -> None:
    record = commands.add_parser(
        "record",
        help="a recording reverse proxy: forward to --upstream, write each exchange to --out",
        description="Listen (loopback by default) and forward every request to --upstream, "
        "streaming each answer back while writing the exchange to a capture file (keys "
        "redacted), until Ctrl-C; one line per exchange on stderr. With --to-har, convert a "
        "capture to HTTP Archive 1.2 instead (to --out, or stdout). See docs/capture.md.",
    )
    record.add_argument("--upstream", metavar="URL", help="where to forward, e.g. the API")
    record.add_argument("--host", default="127.0.0.1")
    record.add_argument("--port", type=_port, default=8081, help="(default: 8081; 0: any)")
    record.add_argument("--out", metavar="FILE", help="the capture to write (or the HAR file)")
    record.add_argument("--to-har", metavar="CAPTURE", help="export CAPTURE as HAR 1.2 JSON")
    record.add_argument(
        "--timeout", type=_seconds, default=None, help="upstream seconds for each wait"
    )
    record.add_argument(
        "--client-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="close a client that sends part of a request, then nothing, this long (default: 60)",
    )
    record.set_defaults(run=_record)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"wire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    decode = commands.add_parser(
        "decode",
        help="decode a captured Messages SSE stream into typed events (JSON lines)",
        description="Decode a captured Messages SSE stream: one typed event per line as JSON "
        "(or the accumulated message). The output is always strict JSON in UTF-8: a lone "
        "surrogate is written as its \\u escape, a number past a double's range as 1e999 "
        "or -1e999, a NaN literal as null.",
    )
    decode.add_argument("file", nargs="?", help="the capture; '-' or nothing for stdin")
    decode.add_argument(
        "--sample", metavar="NAME", help="decode a capture bundled with wire (e.g. tool_use)"
    )
    decode.add_argument(
        "--message", action="store_true", help="print the accumulated message instead of the events"
    )
    decode.add_argument(
        "--exchange",
        type=int,
        metavar="N",
        help="with a capture (wire record): decode exchange N only (default: every stream)",
    )
    decode.set_defaults(run=_decode)
    demo = commands.add_parser(
        "demo", help="stream a reply from the emulator on loopback (offline), printed live"
    )
    demo.add_argument("prompt", nargs="*", help="the prompt (a default one otherwise)")
    demo.add_argument("--model", default="claude-opus-4-6")
    demo.add_argument("--max-tokens", type=_tokens, default=120)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--pace",
        type=float,
        default=300.0,
        help="emulated tokens per second (0: as fast as possible)",
    )
    demo.add_argument(
        "--events", action="store_true", help="print the typed events as they come, not the text"
    )
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="run the API emulator (for tests; loopback only)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080)
    serve.add_argument(
        "--api-key", default=None, help="accept only this key (default: any non-empty key)"
    )
    serve.add_argument("--seed", type=int, default=0, help="replies are a function of the seed")
    serve.add_argument(
        "--batch-seconds", type=float, default=1.0, help="how long a message batch takes to end"
    )
    serve.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="stream at most this many tokens per second (0: no pacing)",
    )
    serve.add_argument(
        "--enforce-limits",
        action="store_true",
        help="answer 429 past the per-minute limits (they are only reported by default)",
    )
    serve.add_argument(
        "--tier",
        type=int,
        choices=(1, 2, 3, 4),
        default=None,
        help="per-model-class limits of this usage tier (docs/emulator.md; default: 1,000 "
        "requests, 80,000 input and 16,000 output tokens a minute for every class)",
    )
    serve.add_argument(
        "--minute-seconds",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="how long a rate-limit minute lasts (default: 60), to test whole windows fast",
    )
    serve.add_argument(
        "--lenient",
        action="store_true",
        help="accept any well-formed request (unknown fields, models and betas) instead of "
        "validating as the API does",
    )
    serve.add_argument(
        "--chaos",
        type=_chaos,
        metavar="SEED[:RATE]",
        help="inject faults into a seeded share RATE (default 0.1) of requests; "
        "each one is logged to stderr",
    )
    serve.add_argument(
        "--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)"
    )
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key for --tls-cert")
    serve.add_argument(
        "--replay", metavar="FILE", help="answer from this capture instead of emulating"
    )
    serve.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="with --replay: 1 the recorded pace, 10 ten times faster, 0 at once",
    )
    serve.set_defaults(run=_serve)
    _record_command(commands)
    _api_commands(commands)
    return parser
