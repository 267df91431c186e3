"""A vendor's ``quorum`` and ``sla:`` (contract) settings in vendors.yaml."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from credits.model import (
    BusinessCalendar,
    CreditPolicy,
    Fee,
    QuorumRule,
    SlaPolicy,
    Span,
    Tier,
)
from uptime.config.fields import (
    MONEY_FORMS,
    PERCENT_FORMS,
    _At,
    _bool,
    _choice,
    _choices,
    _chosen,
    _default,
    _fields,
    _get,
    _items,
    _money,
    _optional,
    _percent,
    _percent_per_hour,
    _span,
    _suggest,
    _zone,
)
from uptime.config.model import Monitor


def _quorum(value: object, at: _At, monitors: tuple[Monitor, ...]) -> QuorumRule:
    fewest = min(len(m.regions) for m in monitors)
    expected = f"all, majority, or a whole number of regions from 1 to {fewest}"
    if value in ("all", "majority"):
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise at.got(value, expected + _suggest(value, ("all", "majority")))
    for monitor in monitors:
        if value > len(monitor.regions):
            raise at.error(
                f"quorum {value} but monitor {monitor.id!r} is probed from only "
                f"{len(monitor.regions)} region(s), so it could never be down",
                expected,
            )
    return value


@cache
def _holiday_problem(code: str, subdivision: str | None) -> str | None:
    # Once per calendar, not once per vendor: a district's vendors share a few calendars.
    try:
        holidays.country_holidays(code, subdiv=subdivision)
    except (NotImplementedError, ValueError) as exc:
        return str(exc)
    return None


def _holiday_calendar(value: object, at: _At, vendor_zone: ZoneInfo) -> BusinessCalendar:
    fields = _fields(value, at, {}, ("holidays", "timezone", "subdivision"))
    countries = holidays.list_supported_countries()
    code = fields.get("holidays", _default(BusinessCalendar, "holidays"))
    code_at = at.key(fields, "holidays")
    if code is not None and (not isinstance(code, str) or code not in countries):
        raise code_at.got(
            code,
            "a country code of the holidays package (US, CA, GB...) or null for no holidays"
            + _suggest(code, countries),
        )
    subdivision = fields.get("subdivision")
    sub_at = at.key(fields, "subdivision")
    if subdivision is not None:
        if code is None:
            raise sub_at.error("a subdivision needs a holidays country", "holidays: <country>")
        subdivisions = countries[code]
        if not isinstance(subdivision, str) or subdivision not in subdivisions:
            raise sub_at.got(
                subdivision,
                f"a subdivision of {code}: {', '.join(subdivisions) or 'none exist'}",
            )
    if code is not None and (problem := _holiday_problem(code, subdivision)):
        raise code_at.error(problem, "a country code of the holidays package")
    zone = _get(fields, at, "timezone", _zone, vendor_zone)
    return BusinessCalendar(timezone=zone, holidays=code, subdivision=subdivision)


def _tiers(value: object, at: _At, target_pct: Decimal) -> tuple[Tier, ...]:
    items = _items(value, at, "tiers like {below_pct: 99.9, credit_pct: 10}")
    if not items:
        raise at.got(value, "at least one tier like {below_pct: 99.9, credit_pct: 10}")
    tiers: list[Tier] = []
    for index, item in enumerate(items):
        where = at.item(items, index)
        fields = _fields(item, where, {"below_pct": PERCENT_FORMS, "credit_pct": PERCENT_FORMS})
        tier = Tier(
            below_pct=_percent(fields["below_pct"], where.key(fields, "below_pct")),
            credit_pct=_percent(fields["credit_pct"], where.key(fields, "credit_pct")),
        )
        if any(t.below_pct == tier.below_pct for t in tiers):
            raise where.key(fields, "below_pct").error(
                f"two tiers start below {tier.below_pct}", "a different below_pct for each tier"
            )
        # A band above the target would pay for a month that met it.
        if tier.below_pct > target_pct:
            raise where.key(fields, "below_pct").error(
                f"below_pct {tier.below_pct} is above target_pct {target_pct}",
                "every band at or below target_pct",
            )
        tiers.append(tier)
    # Highest threshold first, so "the lowest band that applies" is the last match.
    return tuple(sorted(tiers, key=lambda t: t.below_pct, reverse=True))


_CREDIT_KINDS = _choices(CreditPolicy, "kind")


def _credit(value: object, at: _At, target_pct: Decimal) -> CreditPolicy:
    fields = _fields(
        value,
        at,
        {"kind": f"one of: {', '.join(_CREDIT_KINDS)}"},
        ("rounding", "scope", "percent_per_hour", "cap_pct_of_fee", "tiers"),
    )
    kind = _choice(fields["kind"], at.key(fields, "kind"), _CREDIT_KINDS)
    if kind == "tiers":
        if "tiers" not in fields:
            raise at.key(fields, "tiers").error(
                "required key is missing (kind is tiers)",
                "a list like [{below_pct: 99.9, credit_pct: 10}]",
            )
        tiers = _tiers(fields["tiers"], at.key(fields, "tiers"), target_pct)
    elif "tiers" in fields:
        raise at.key(fields, "tiers").error(
            f"tiers given but kind is {kind}", "tiers only with kind: tiers"
        )
    else:
        tiers = ()
    cap = _get(fields, at, "cap_pct_of_fee", _optional(_percent), None)
    return CreditPolicy(
        kind=kind,  # type: ignore[arg-type]
        rounding=_chosen(fields, at, CreditPolicy, "rounding"),
        scope=_chosen(fields, at, CreditPolicy, "scope"),
        percent_per_hour=_get(
            fields,
            at,
            "percent_per_hour",
            _percent_per_hour,
            _default(CreditPolicy, "percent_per_hour"),
        ),
        cap_pct_of_fee=cap,
        tiers=tiers,
    )


_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)


def _fee(value: object, at: _At) -> Fee | None:
    if value is None:
        return None
    fields = _fields(value, at, {"amount": MONEY_FORMS}, ("per", "currency"))

    def currency(v: object, a: _At) -> str:
        if not isinstance(v, str) or not _CURRENCY_RE.fullmatch(v):
            raise a.got(v, "a 3-letter ISO 4217 currency code in capitals, e.g. USD")
        return v

    return Fee(
        amount=_money(fields["amount"], at.key(fields, "amount")),
        per=_chosen(fields, at, Fee, "per"),
        currency=_get(fields, at, "currency", currency, _default(Fee, "currency")),
    )


_MAINTENANCE = _choices(SlaPolicy, "maintenance")
_SLA_REQUIRED = {
    "target_pct": PERCENT_FORMS,
    "maintenance": "one of: counts, excluded",
}
_SLA_OPTIONAL = (
    "emergency_notice",
    "announced_windows",
    "unmonitored",
    "business_calendar",
    "credit",
    "fee",
    "eligible",
    "invoices_in_default",
    "claim_within",
    "claim",  # read by uptime.config.claim: where claims go, not a figure of the contract
)
_DEFAULT_NOTICE = Span(text="5 business days", business_days=5)


def _sla(value: object, at: _At, vendor_zone: ZoneInfo) -> SlaPolicy:
    fields = _fields(value, at, _SLA_REQUIRED, _SLA_OPTIONAL)
    target_pct = _percent(fields["target_pct"], at.key(fields, "target_pct"))
    maintenance = _choice(fields["maintenance"], at.key(fields, "maintenance"), _MAINTENANCE)
    credit = _get(fields, at, "credit", lambda v, a: _credit(v, a, target_pct), CreditPolicy())
    fee = _get(fields, at, "fee", _fee, None)
    if credit.kind != "none" and fee is None:
        raise at.key(fields, "fee").error(
            f"credit kind {credit.kind} needs the fee it is a share of",
            'fee: {amount: "672.00", per: month, currency: USD}',
        )
    default_calendar = BusinessCalendar(timezone=vendor_zone)
    return SlaPolicy(
        target_pct=target_pct,
        maintenance=maintenance,  # type: ignore[arg-type]
        emergency_notice=_get(fields, at, "emergency_notice", _span, _DEFAULT_NOTICE),
        business_calendar=_get(
            fields,
            at,
            "business_calendar",
            lambda v, a: _holiday_calendar(v, a, vendor_zone),
            default_calendar,
        ),
        claim_within=_get(fields, at, "claim_within", _span, _DEFAULT_NOTICE),
        announced_windows=_chosen(fields, at, SlaPolicy, "announced_windows"),
        unmonitored=_chosen(fields, at, SlaPolicy, "unmonitored"),
        credit=credit,
        fee=fee,
        eligible=_get(fields, at, "eligible", _bool, _default(SlaPolicy, "eligible")),
        invoices_in_default=_get(
            fields, at, "invoices_in_default", _bool, _default(SlaPolicy, "invoices_in_default")
        ),
    )
