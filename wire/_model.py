"""The base of wire's API objects: each class declares its fields, the rest is derived.

Layer: core (stdlib only), under `_message`, `_events` and `_batches`. Rule:
`X.from_dict(d).to_dict() == d` for any JSON object the API may send. A class
lists the keys the API always sends as fields, each declared with the JSON
kind it holds (`string()`, `integer()`, `json_object()`, `nested(Usage)` …);
a `ClassVar` `type` names the object's fixed `"type"`. From that table alone
`APIObject` derives `from_dict` (checks, decodes, `extra`, `omitted`),
`to_dict` and a short `repr`: every other key, known or not yet known, lives
in the read-only `extra` mapping; an always-sent key found missing takes the
field's default and is remembered in `omitted`, so `to_dict()` leaves it out
again (no invented `null`s); a field without a default must be present.
Wrong JSON types raise `EventDecodeError` naming the object and the key.

Objects are frozen. Mapping values are dicts owned by the object: treat them
as read-only; `to_dict()` returns fresh copies. Names here are public to the
package only: the module is private.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeVar

from ._errors import EventDecodeError

__all__ = [
    "NO_EXTRA",
    "NO_KEYS",
    "APIObject",
    "Unknown",
    "boolean",
    "copy_json",
    "decode",
    "integer",
    "json_object",
    "list_of",
    "nested",
    "one_of",
    "optional_string",
    "required",
    "string",
    "typed",
]

NO_KEYS: frozenset[str] = frozenset()
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})

_O = TypeVar("_O", bound="APIObject")
_T = TypeVar("_T")
_D = TypeVar("_D")


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists copied, scalars shared).

    Iterative, so any depth `json.loads` accepted can be copied.
    """
    if type(value) is not dict and type(value) is not list:
        return value
    root = dict(value) if type(value) is dict else list(value)
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        items = container.items() if type(container) is dict else enumerate(container)
        for key, item in items:
            if type(item) is dict or type(item) is list:
                copy = dict(item) if type(item) is dict else list(item)
                container[key] = copy
                stack.append(copy)
    return root


def typed(mapping: Mapping[str, Any], key: str, kind: type[_T], default: _D = None) -> _T | _D:  # type: ignore[assignment]
    """`mapping[key]` when it is exactly a `kind` (no bool for int), else `default`."""
    value = mapping.get(key)
    return value if type(value) is kind else default


# --- field kinds -------------------------------------------------------------------------
#
# A kind checks one JSON value and turns it into the attribute (`decode`), and
# turns the attribute back into JSON (`encode`). The declarations below wrap
# `dataclasses.field`, keeping the kind in the field's metadata.


class _Kind:
    """A JSON value of one shape: checked and kept as it is (strings, numbers, null)."""

    __slots__ = ("allow_none", "json_type", "noun")

    def __init__(self, json_type: type, noun: str, *, allow_none: bool = False) -> None:
        self.json_type = json_type
        self.noun = noun
        self.allow_none = allow_none

    def decode(self, value: Any, key: str, what: str) -> Any:
        if type(value) is self.json_type or (value is None and self.allow_none):
            return value
        raise EventDecodeError(what, f"{key!r} must be {self.noun}, not {type(value).__name__}")

    def encode(self, value: Any) -> Any:
        return value


class _Object(_Kind):
    """A JSON object kept as a dict (copied on the way out)."""

    __slots__ = ()

    def encode(self, value: Any) -> Any:
        return copy_json(value)


class _Nested(_Kind):
    """A JSON object decoded by a parser: an `APIObject`'s `from_dict` or a union's."""

    __slots__ = ("parse",)

    def __init__(self, parse: Callable[[Any], APIObject], *, check: bool) -> None:
        super().__init__(dict if check else object, "an object")
        self.parse = parse

    def decode(self, value: Any, key: str, what: str) -> Any:
        if self.json_type is dict and type(value) is not dict:
            raise EventDecodeError(what, f"{key!r} must be an object, not {type(value).__name__}")
        return self.parse(value)

    def encode(self, value: Any) -> Any:
        return value.to_dict()


class _List(_Kind):
    """A JSON array whose items a parser decodes; kept as a tuple."""

    __slots__ = ("parse",)

    def __init__(self, parse: Callable[[Any], Any] | None) -> None:
        super().__init__(list, "a list")
        self.parse = parse

    def decode(self, value: Any, key: str, what: str) -> Any:
        if type(value) is not list:
            raise EventDecodeError(what, f"{key!r} must be a list, not {type(value).__name__}")
        parse = self.parse
        return tuple(value) if parse is None else tuple([parse(item) for item in value])

    def encode(self, value: Any) -> Any:
        return [item.to_dict() for item in value]


_KIND = "wire.kind"
_STRING = _Kind(str, "a string")
_OPTIONAL_STRING = _Kind(str, "a string or null", allow_none=True)
_INTEGER = _Kind(int, "an integer")
_BOOLEAN = _Kind(bool, "a boolean")
_OBJECT = _Object(dict, "an object")


def string(default: str = "") -> Any:
    """A JSON string field; `default` when the key is missing."""
    return field(default=default, metadata={_KIND: _STRING})


def optional_string() -> Any:
    """A JSON string-or-null field; None when the key is missing."""
    return field(default=None, metadata={_KIND: _OPTIONAL_STRING})


def integer() -> Any:
    """A JSON integer field (booleans refused); 0 when the key is missing."""
    return field(default=0, metadata={_KIND: _INTEGER})


def boolean() -> Any:
    """A JSON boolean field; False when the key is missing."""
    return field(default=False, metadata={_KIND: _BOOLEAN})


def json_object() -> Any:
    """A JSON object kept as a dict; an empty dict when the key is missing."""
    return field(default_factory=dict, metadata={_KIND: _OBJECT})


def nested(cls: type[APIObject]) -> Any:
    """A JSON object decoded by `cls.from_dict`; `cls()` when the key is missing."""
    return field(default_factory=cls, metadata={_KIND: _Nested(cls.from_dict, check=True)})


def one_of(parse: Callable[[Any], APIObject]) -> Any:
    """A required value decoded by `parse` (a union's dispatcher, which checks the JSON)."""
    return field(metadata={_KIND: _Nested(parse, check=False)})


def list_of(parse: Callable[[Any], Any] | None) -> Any:
    """A JSON array of items decoded by `parse` (kept raw when None); () when missing."""
    return field(default=(), metadata={_KIND: _List(parse)})


def required() -> Any:
    """A required JSON string field: a missing key is an error, not a default."""
    return field(metadata={_KIND: _STRING})


# --- the table of a class ----------------------------------------------------------------


class _Spec:
    """What `decode` and `to_dict` need of a class, computed once from its fields."""

    __slots__ = ("encoders", "fields", "keys", "tag", "what")

    def __init__(self, cls: type[APIObject]) -> None:
        own = [f for f in fields(cls) if f.name not in ("extra", "omitted")]
        tag = getattr(cls, "type", None)  # a ClassVar, or the slot of a `type` field
        self.tag: str | None = tag if type(tag) is str else None
        self.what: str = cls.what or self.tag or cls.__name__
        self.fields: tuple[tuple[str, _Kind, bool], ...] = tuple(
            (f.name, f.metadata[_KIND], _has_default(f)) for f in own
        )
        # For to_dict: None where the value is its own JSON (strings, numbers, null).
        self.encoders: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (name, None if type(kind) is _Kind else kind.encode) for name, kind, _ in self.fields
        )
        names = tuple(f.name for f in own)
        self.keys: frozenset[str] = frozenset(("type", *names) if self.tag else names)


def _has_default(f: Field[Any]) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


_specs: dict[type, _Spec] = {}


def _spec(cls: type[APIObject]) -> _Spec:
    spec = _specs.get(cls)
    if spec is None:
        spec = _specs[cls] = _Spec(cls)
    return spec


def decode(cls: type[_O], d: Any) -> _O:
    """The general `from_dict`: check `d` against `cls`'s fields and build the object.

    Classes with a fast path for their common exact shape call this for the rest.
    """
    spec = _spec(cls)
    what = spec.what
    if type(d) is not dict:
        raise EventDecodeError(what, f"expected an object, not {type(d).__name__}")
    values: dict[str, Any] = {}
    missing: list[str] = []
    for name, kind, has_default in spec.fields:
        if name in d:
            values[name] = kind.decode(d[name], name, what)
        elif has_default:
            missing.append(name)
        else:
            raise EventDecodeError(what, f"{name!r} is missing")
    tag = spec.tag
    if tag is not None:
        if "type" not in d:
            missing.append("type")
        elif d["type"] != tag:  # to_dict() could not give it back
            raise EventDecodeError(what, f"'type' must be {tag!r}")
    if len(d) > len(values) + (tag is not None and "type" in d):  # keys beyond the fields
        keys = spec.keys
        values["extra"] = {k: v for k, v in d.items() if k not in keys}
    if missing:
        values["omitted"] = frozenset(missing)
    return cls(**values)


# --- the base classes --------------------------------------------------------------------


def _no_extra() -> Mapping[str, Any]:
    """The default `extra`: one shared, read-only, empty mapping."""
    return NO_EXTRA


@dataclass(frozen=True, slots=True, kw_only=True)
class APIObject:
    """An API object: declared fields, then `extra` (keys beyond them) and `omitted`.

    `omitted` names the always-sent keys that were missing, so `to_dict()`
    does not add them back.
    """

    what: ClassVar[str] = ""
    """How errors name the object (default: its `type`)."""

    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=NO_KEYS, repr=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Generic's hook must run too (Page[Model]); zero-argument super() would name
        # the class as it was before slots=True rebuilt it, hence the explicit form.
        super(APIObject, cls).__init_subclass__(**kwargs)
        # Defined in the class itself, so @dataclass keeps it instead of writing its own.
        cls.__repr__ = APIObject.__repr__  # type: ignore[method-assign]

    @classmethod
    def from_dict(cls, d: Any) -> Self:
        """The object for the JSON object `d`; `EventDecodeError` when a known key has the
        wrong JSON type, a required one is missing or `d` is not an object."""
        return decode(cls, d)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object again: the fields not omitted, then fresh copies of `extra`."""
        spec = _spec(type(self))
        omitted = self.omitted
        out: dict[str, Any] = {}
        if spec.tag is not None and "type" not in omitted:
            out["type"] = spec.tag
        for name, encode in spec.encoders:
            if omitted and name in omitted:
                continue
            value = getattr(self, name)
            out[name] = value if encode is None else encode(value)
        for key, value in self.extra.items():
            out[key] = copy_json(value)
        return out

    def __repr__(self) -> str:
        spec = _spec(type(self))
        parts = [f"{name}={getattr(self, name)!r}" for name, _, _ in spec.fields]
        if self.extra:
            parts.append(f"extra={dict(self.extra)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown(APIObject):
    """An object of a `type` wire does not know: the type and every other key, kept whole."""

    type: str = required()
