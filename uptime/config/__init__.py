"""vendors.yaml and maintenance_windows.yaml to validated, frozen configuration.

Both files are read once, checked completely and turned into frozen dataclasses (the contract
values come from ``credits.model``). Any problem stops the load with a ``ConfigError`` whose text
is one line naming the file, the line, the dotted field and what was expected, e.g.::

    vendors.yaml:14: vendors.classswift.sla.target_pct: got 'abc'; expected a number above 0
    and at most 100

(shown wrapped here; the message itself is a single line).
"""

from uptime.config.durations import format_duration, parse_duration
from uptime.config.errors import ConfigError, UnknownVendorError
from uptime.config.load import default_files, load_config
from uptime.config.model import Config, Expect, Monitor, Probing, Region, Reports, Vendor, Web
from uptime.config.render import render_config

__all__ = [
    "Config",
    "ConfigError",
    "Expect",
    "Monitor",
    "Probing",
    "Region",
    "Reports",
    "UnknownVendorError",
    "Vendor",
    "Web",
    "default_files",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
]
