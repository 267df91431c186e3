"""The ``reports:`` section of vendors.yaml: where ``run`` writes last month's report, and when."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from uptime.config.fields import _At, _fields, _get, _text
from uptime.config.maintenance import _CRON_FIELDS, _cron
from uptime.config.model import Reports


def _reports(value: object, at: _At) -> Reports:
    if value is None:
        return Reports()
    fields = _fields(value, at, {}, ("dir", "schedule"))
    default = Reports()
    return Reports(
        dir=_get(fields, at, "dir", lambda v, a: Path(_text(v, a)), default.dir),
        schedule=_get(fields, at, "schedule", _schedule, default.schedule),
    )


def _schedule(value: object, at: _At) -> str:
    from croniter import CroniterBadDateError, croniter  # see credits.calendar.expand_recurring

    cron = _cron(value, at)
    # A valid expression may still never fire ("0 6 30 2 *"): no month's report would come.
    try:
        croniter(cron, datetime(2000, 1, 1), max_years_between_matches=8).get_next(datetime)
    except CroniterBadDateError:
        raise at.got(value, f"{_CRON_FIELDS} that fires at least once a year") from None
    return cron
