"""Loading both files into one validated ``Config``."""

from __future__ import annotations

import os
from dataclasses import replace
from importlib import resources
from pathlib import Path

from credits.model import (
    VendorCalendar,
)
from uptime.config.fields import _At, _check_keys, _fields, _get, _id_map, _suggest
from uptime.config.maintenance import _calendar, _check_hosting
from uptime.config.model import Config, Probing, Reports, Web
from uptime.config.positioned_yaml import _load_yaml, _Map
from uptime.config.regions import _probing, _regions
from uptime.config.reports import _reports
from uptime.config.vendors import _vendor
from uptime.config.web import _web

# --------------------------------------------------------------------------------------------
# Loading


def load_config(
    vendors_path: str | os.PathLike[str], maintenance_path: str | os.PathLike[str]
) -> Config:
    """Read, validate and freeze both files; raise ``ConfigError`` at the first problem."""
    vendors_file, maintenance_file = Path(vendors_path), Path(maintenance_path)
    vlabel, mlabel = os.fspath(vendors_path), os.fspath(maintenance_path)

    root_at = _At(vlabel, "", 1, 1)
    root = _load_yaml(vendors_file, vlabel)
    top = _fields(
        root,
        root_at,
        {"regions": "the probe regions", "vendors": "the vendors"},
        ("probing", "web", "reports"),
    )
    regions = _regions(top["regions"], root_at.key(top, "regions"), vendors_file.parent)
    probing = _get(top, root_at, "probing", _probing, Probing())
    web = _get(top, root_at, "web", lambda v, a: _web(v, a, vendors_file.parent), Web())
    reports = _get(top, root_at, "reports", _reports, Reports())
    region_ids = tuple(r.id for r in regions)
    vendors_at = root_at.key(top, "vendors")
    vendor_map = _id_map(top["vendors"], vendors_at, "vendor")
    if not vendor_map:
        raise vendors_at.got(top["vendors"], "at least one vendor")
    drafts = {
        vendor_id: _vendor(
            vendor_id,
            settings,
            vendors_at.key(vendor_map, vendor_id),
            region_ids,
            vendors_file.parent,
        )
        for vendor_id, settings in vendor_map.items()
    }

    mroot = _load_yaml(maintenance_file, mlabel)
    mroot_at = _At(mlabel, "", 1, 1)
    calendars: dict[str, VendorCalendar] = {}
    if mroot is not None:
        if not isinstance(mroot, _Map):
            raise mroot_at.got(mroot, "a mapping of vendor ids to their maintenance windows")
        _check_keys(mroot, mroot_at)
        for vendor_id, settings in mroot.items():
            where = mroot_at.key(mroot, vendor_id)
            if vendor_id not in drafts:
                raise where.named().error(
                    f"unknown vendor {vendor_id!r}, not in {vlabel}{_suggest(vendor_id, drafts)}",
                    f"one of: {', '.join(drafts)}",
                )
            calendars[vendor_id] = _calendar(settings, where)

    vendors = []
    for vendor_id, draft in drafts.items():
        calendar = calendars.get(vendor_id, VendorCalendar())
        _check_hosting(draft, calendar, mlabel)
        vendors.append(replace(draft.vendor, calendar=calendar))
    return Config(
        regions=regions,
        vendors=tuple(vendors),
        vendors_path=vendors_file,
        maintenance_path=maintenance_file,
        probing=probing,
        web=web,
        reports=reports,
    )


def default_files() -> tuple[Path, Path]:
    """The shipped vendors.yaml and maintenance_windows.yaml (package data) as paths."""
    base = resources.files("uptime.config") / "defaults"
    return Path(str(base / "vendors.yaml")), Path(str(base / "maintenance_windows.yaml"))
