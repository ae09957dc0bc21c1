"""A deliberately simple, whole-buffer transcription of the WHATWG event-stream rules.

It is slow and obvious on purpose: the differential tests and the fuzzer check
`wire.SSEDecoder` (incremental, fast paths) against it. Spec: HTML Living
Standard, 9.2.6 "Interpreting an event stream".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RefEvent:
    event: str
    data: str
    id: str
    retry: int | None


def reference_decode(stream: bytes) -> tuple[list[RefEvent], str, int | None]:
    """Decode a complete stream; return (events, last event ID string, reconnection time)."""
    # "decoded using the UTF-8 decode algorithm": one leading BOM is stripped,
    # invalid sequences become U+FFFD.
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    text = stream.decode("utf-8", "replace")

    events: list[RefEvent] = []
    data_buffer = ""
    event_type = ""
    last_id_buffer = ""
    last_id = ""
    retry: int | None = None
    block_retry: int | None = None
    for line in split_lines(text):
        if line == "":
            # Dispatch the event.
            last_id = last_id_buffer
            if data_buffer != "":
                if data_buffer.endswith("\n"):
                    data_buffer = data_buffer[:-1]
                events.append(RefEvent(event_type or "message", data_buffer, last_id, block_retry))
            data_buffer = ""
            event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        name, value = split_field(line)
        if name == "event":
            event_type = value
        elif name == "data":
            data_buffer += value + "\n"
        elif name == "id":
            if "\x00" not in value:
                last_id_buffer = value
        elif name == "retry" and is_retry(value):
            retry = int(value.lstrip("0") or "0")
            block_retry = retry
    return events, last_id, retry


def split_lines(text: str) -> list[str]:
    """The lines of `text`; each must end with CRLF, LF or CR.

    A final unterminated line is not a line (the stream ended mid-line): discarded.
    """
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r":
            lines.append("".join(current))
            current = []
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif ch == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    return lines


def split_field(line: str) -> tuple[str, str]:
    """(name, value): split at the first colon, one space after it removed; no colon: no value."""
    if ":" not in line:
        return line, ""
    name, value = line.split(":", 1)
    if value.startswith(" "):
        value = value[1:]
    return name, value


def is_retry(value: str) -> bool:
    """A `retry` value counts only if all ASCII digits (and, here, of a sane length)."""
    return bool(value) and all(c in "0123456789" for c in value) and len(value.lstrip("0")) <= 4000
