"""Workload parameters: each workload declares ``PARAMS``, a literal dict, and this checks values against it.

    PARAMS = {
        "size": {"type": "int", "default": 20, "min": 1, "max": 1000, "description": "greenthreads in the pool"},
        "latency": {"type": "choice", "default": "fixed", "choices": ["fixed", "uniform"], "description": "..."},
    }

Types: ``int`` and ``float`` (with ``min`` and ``max``), ``bool``, ``choice`` (one of ``choices``), and
``url`` (empty, or an http(s) URL: only allowed when the server allows external targets,
and only if its host resolves to public addresses only — `external`: never loopback,
private, link-local or unspecified, however spelled).
The server validates what a browser sends (`validate`) and passes the values to the child
as ``--name=value`` arguments (`to_argv`); the workload reads them back with `parse`,
which validates them again, so a workload run by hand is checked the same way. `from_text`
types ``NAME=VALUE`` pairs written by hand (``greenscope serve --demo crawler continuous=true``).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ParamError", "external", "from_text", "parse", "to_argv", "validate"]

_MAX_URL = 2000
_WRITTEN = {"int": "an integer", "float": "a number", "bool": "true or false"}  # what a value of each type must be


class ParamError(ValueError):
    """A parameter value that is not allowed; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def validate(schema: dict[str, dict], given: Any, allow_external: bool = False) -> dict[str, Any]:
    """`given` checked against `schema`, with the defaults of what it leaves out."""
    if not isinstance(given, dict):
        raise ParamError("params", "must be an object")
    for name in given:
        if name not in schema:
            raise ParamError(f"params.{name}", f"unknown parameter (known: {', '.join(schema)})")
    return {
        name: _check(f"params.{name}", spec, given.get(name, spec["default"]), allow_external)
        for name, spec in schema.items()
    }


def _check(field: str, spec: dict, value: Any, allow_external: bool) -> Any:
    kind = spec["type"]
    if kind in ("int", "float"):
        numeric = isinstance(value, int) or (kind == "float" and isinstance(value, float) and math.isfinite(value))
        if isinstance(value, bool) or not numeric:
            raise ParamError(field, f"must be {_WRITTEN[kind]}, got {value!r}")
        if not spec["min"] <= value <= spec["max"]:
            raise ParamError(field, f"must be between {spec['min']} and {spec['max']}, got {value!r}")
        return float(value) if kind == "float" else value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ParamError(field, f"must be {_WRITTEN[kind]}, got {value!r}")
        return value
    if kind == "choice":
        if value not in spec["choices"]:
            raise ParamError(field, f"must be one of {', '.join(spec['choices'])}, got {value!r}")
        return value
    if kind == "url":
        if not isinstance(value, str) or len(value) > _MAX_URL:
            raise ParamError(field, f"must be a URL of at most {_MAX_URL} characters")
        if value:
            try:
                parts = urlsplit(value)
                port = parts.port
            except ValueError:
                raise ParamError(field, f"must be an http or https URL, got {value!r}") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ParamError(field, f"must be an http or https URL, got {value!r}")
            if not allow_external:
                raise ParamError(field, "external targets are off (start the server with --allow-external-crawl)")
            _check_external(field, parts.hostname, port or (443 if parts.scheme == "https" else 80))
        return value
    raise ParamError(field, f"has an unknown type {kind!r} in its schema")


def external(address: str) -> bool:
    """Whether the IP `address` is a public one: not loopback, private, link-local, unspecified,
    reserved or multicast (an IPv4 address written as IPv6, ``::ffff:127.0.0.1``, is judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _check_external(field: str, host: str, port: int) -> None:
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError) as e:
        raise ParamError(field, f"cannot resolve {host!r}: {e}") from None
    for address in sorted(found):
        if not external(address):
            raise ParamError(field, f"{host!r} is {address}: not an external address (crawling it is never allowed)")


def boolean(text: str) -> bool:
    """``true`` or ``false`` (any case: ``True`` too) as a bool; ValueError for anything else."""
    if text.lower() not in ("true", "false"):
        raise ValueError(f"not true or false: {text!r}")
    return text.lower() == "true"


_FROM_TEXT = {"int": int, "float": float, "bool": boolean}  # how each type is written as text; others: as is


def from_text(schema: dict[str, dict], pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as the types `schema` gives them, for `validate` to check (a name it does not
    know keeps its text, for `validate` to refuse)."""
    given: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals:
            raise ParamError(f"params.{name}", f"give it as NAME=VALUE, got {pair!r}")
        kind = schema.get(name, {}).get("type")
        try:
            given[name] = _FROM_TEXT.get(kind, str)(text)
        except ValueError:
            raise ParamError(f"params.{name}", f"must be {_WRITTEN[kind]}, got {text!r}") from None
    return given


def to_argv(values: dict[str, Any]) -> list[str]:
    """Validated values as the workload's command-line arguments."""
    return [f"--{name}={value}" for name, value in values.items()]


def parse(schema: dict[str, dict], argv: list[str] | None = None) -> argparse.Namespace:
    """The workload's parameters from its command line (``--name=value``), validated; usage errors exit 2."""
    parser = argparse.ArgumentParser(description="a greenscope workload")
    for name, spec in schema.items():
        parser.add_argument(
            f"--{name}", type=_FROM_TEXT.get(spec["type"], str), default=spec["default"], help=spec["description"]
        )
    values = vars(parser.parse_args(sys.argv[1:] if argv is None else argv))
    try:
        return argparse.Namespace(**validate(schema, values, allow_external=True))
    except ParamError as e:
        parser.error(str(e))
