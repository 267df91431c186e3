"""The ``monitors:`` of a vendor in vendors.yaml."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from uptime.config.durations import PLAIN_DURATION_FORMS, format_duration
from uptime.config.fields import (
    _At,
    _bool,
    _choice,
    _default,
    _delta,
    _fields,
    _get,
    _id,
    _int,
    _items,
    _optional,
    _suggest,
    _text,
)
from uptime.config.model import Expect, Monitor
from uptime.config.positioned_yaml import _Seq

_MONITOR_REQUIRED = {
    "id": "a monitor id",
    "functional_area": "the functional area this endpoint stands for, e.g. Login",
    "url": "an http://, https:// or tcp://host:port URL",
    "interval": PLAIN_DURATION_FORMS,
    "timeout": PLAIN_DURATION_FORMS,
    "critical": "true or false (do its outages count against the vendor?)",
}
_MONITOR_OPTIONAL = ("expect", "kind", "method", "max_latency", "max_redirects", "regions")
_HTTP_ONLY = ("expect", "method", "max_redirects")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _url(value: object, at: _At) -> tuple[str, Literal["http", "tcp"]]:
    expected = "an http://, https:// or tcp://host:port URL"
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise at.got(value, expected)
    url = value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise at.got(value, expected) from None
    if parts.scheme not in ("http", "https", "tcp") or not parts.hostname:
        raise at.got(value, expected)
    if port == 0:
        raise at.got(value, "a port from 1 to 65535")
    if parts.scheme == "tcp":
        if port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise at.got(value, "tcp://host:port with nothing after the port")
        return url, "tcp"
    return url, "http"


def _status_codes(value: object, at: _At) -> tuple[int, ...]:
    expected = "a list of HTTP status codes from 100 to 599, e.g. [200]"

    def code(v: object, a: _At) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 599:
            raise a.got(v, expected)
        return v

    if isinstance(value, int) and not isinstance(value, bool):
        return (code(value, at),)  # a single code is as clear as a list of one
    if not isinstance(value, _Seq) or not value:
        raise at.got(value, expected)
    return tuple(code(v, at.item(value, i)) for i, v in enumerate(value))


def _expect(value: object, at: _At) -> Expect:
    if value is None:
        return Expect()
    fields = _fields(value, at, {}, ("status", "body_contains"))
    return Expect(
        status=_get(fields, at, "status", _status_codes, _default(Expect, "status")),
        body_contains=_get(fields, at, "body_contains", _optional(_nonblank), None),
    )


def _nonblank(value: object, at: _At) -> str:
    if not isinstance(value, str) or not value:
        raise at.got(value, "non-empty text or null")
    return value


def _monitor(value: object, at: _At, region_ids: tuple[str, ...]) -> Monitor:
    fields = _fields(value, at, _MONITOR_REQUIRED, _MONITOR_OPTIONAL)
    url, scheme_kind = _url(fields["url"], at.key(fields, "url"))
    kind = _get(fields, at, "kind", lambda v, a: _choice(v, a, ("http", "tcp")), scheme_kind)
    if kind != scheme_kind:
        raise at.key(fields, "kind").got(
            kind, f"{scheme_kind} for the URL {url} (tcp monitors use tcp://host:port)"
        )
    if kind == "tcp":
        for key in _HTTP_ONLY:
            if key in fields:
                raise at.key(fields, key).error(
                    f"{key} does not apply to a tcp monitor", "it only on http(s) monitors"
                )
    interval = _delta(fields["interval"], at.key(fields, "interval"))
    timeout = _delta(fields["timeout"], at.key(fields, "timeout"))
    if timeout > interval:
        raise at.key(fields, "timeout").error(
            f"timeout {format_duration(timeout)} is longer than the interval "
            f"{format_duration(interval)}",
            "a timeout no longer than the interval",
        )
    max_latency = _get(fields, at, "max_latency", _optional(_delta), None)
    if max_latency is not None and max_latency > timeout:
        raise at.key(fields, "max_latency").error(
            f"max_latency {format_duration(max_latency)} is longer than the timeout "
            f"{format_duration(timeout)}",
            "a latency limit no longer than the timeout",
        )
    method = _get(
        fields, at, "method", lambda v, a: _choice(v, a, _METHODS), _default(Monitor, "method")
    )
    return Monitor(
        id=_id(fields["id"], at.key(fields, "id"), "monitor"),
        functional_area=_text(fields["functional_area"], at.key(fields, "functional_area")),
        url=url,
        interval=interval,
        timeout=timeout,
        expect=_get(fields, at, "expect", _expect, Expect()),
        critical=_bool(fields["critical"], at.key(fields, "critical")),
        kind=kind,  # type: ignore[arg-type]
        method=method,
        max_latency=max_latency,
        max_redirects=_get(
            fields,
            at,
            "max_redirects",
            lambda v, a: _int(v, a, 0, 30),
            _default(Monitor, "max_redirects"),
        ),
        regions=_get(
            fields, at, "regions", lambda v, a: _monitor_regions(v, a, region_ids), region_ids
        ),
    )


def _monitor_regions(value: object, at: _At, region_ids: tuple[str, ...]) -> tuple[str, ...]:
    expected = f"a non-empty list of configured regions: {', '.join(region_ids)}"
    if not isinstance(value, _Seq) or not value:
        raise at.got(value, expected)
    chosen: list[str] = []
    for index, region in enumerate(value):
        where = at.item(value, index)
        if region not in region_ids:
            raise where.got(region, expected + _suggest(region, region_ids))
        if region in chosen:
            raise where.error(f"region {region!r} is listed twice", "each region once")
        chosen.append(region)
    return tuple(chosen)


def _monitors(value: object, at: _At, region_ids: tuple[str, ...]) -> tuple[Monitor, ...]:
    items = _items(value, at, "monitors")
    if not items:
        raise at.got(value, "at least one monitor")
    monitors: list[Monitor] = []
    for index, item in enumerate(items):
        where = at.item(items, index)
        monitor = _monitor(item, where, region_ids)
        if any(m.id == monitor.id for m in monitors):
            raise where.key(item, "id").error(  # type: ignore[arg-type]
                f"monitor id {monitor.id!r} is used twice", "monitor ids unique within a vendor"
            )
        monitors.append(monitor)
    if not any(m.critical for m in monitors):
        raise at.named().error(
            "no monitor is critical, so no outage could ever count",
            "at least one monitor with critical: true",
        )
    return tuple(monitors)
