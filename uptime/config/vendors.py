"""One ``vendors:`` entry of vendors.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from uptime.config.claim import _claim
from uptime.config.fields import _At, _fields, _get, _id, _optional, _text, _zone
from uptime.config.model import Vendor
from uptime.config.monitors import _monitors
from uptime.config.positioned_yaml import _Map
from uptime.config.sla import _quorum, _sla

_VENDOR_REQUIRED = {
    "name": "the vendor's display name",
    "timezone": "an IANA time zone name such as America/New_York",
    "monitors": "a list of monitors",
    "sla": "the vendor's SLA settings (target_pct, maintenance, ...)",
}


@dataclass(frozen=True, slots=True)
class _VendorDraft:
    vendor: Vendor
    at: _At
    fields: _Map


def _vendor(
    vendor_id: str, value: object, at: _At, region_ids: tuple[str, ...], base: Path
) -> _VendorDraft:
    fields = _fields(value, at, _VENDOR_REQUIRED, ("quorum", "hosting"))
    name = _text(fields["name"], at.key(fields, "name"))
    zone = _zone(fields["timezone"], at.key(fields, "timezone"))
    monitors = _monitors(fields["monitors"], at.key(fields, "monitors"), region_ids)
    sla_at = at.key(fields, "sla")
    sla = _sla(fields["sla"], sla_at, zone)
    vendor = Vendor(
        id=vendor_id,
        name=name,
        timezone=zone,
        quorum=_get(fields, at, "quorum", lambda v, a: _quorum(v, a, monitors), "all"),
        monitors=monitors,
        sla=sla,
        hosting=_get(fields, at, "hosting", _optional(lambda v, a: _id(v, a, "hosting")), None),
        # A vendor's settings, not the contract's (credits.model.SlaPolicy): read beside it.
        claim=_get(fields["sla"], sla_at, "claim", lambda v, a: _claim(v, a, base), None),
    )
    return _VendorDraft(vendor, at, fields)
