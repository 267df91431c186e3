"""The demo: its scripted timeline (pure: what each vendor answers each region, when), its history
written through storage, and ``uptime-ledger demo`` run as a user runs it, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from support_demo import STARTUP, Demo
from support_probing import REGIONS, free_port

from credits.intervals import Interval
from credits.model import WindowKind
from credits.state import monitor_state
from uptime.config import Config
from uptime.demo.history import STEP, write_history
from uptime.demo.run import last_month
from uptime.demo.scenario import HISTORY, SHOWS, Scenario
from uptime.demo.simulator import Simulator, regional_jobs, timeline_script
from uptime.demo.timeline import Spell, Timeline, every, once
from uptime.probing.jobs import config_jobs
from uptime.store.database import from_db_time

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

#: A Tuesday afternoon; the hour the demo started in (two days after the 8th, the fault of
#: every month seen from Atlanta, so the ongoing one starts apart from it).
ANCHOR = datetime(2025, 3, 11, 15, 0, tzinfo=UTC)


@pytest.fixture
def scenario_config(tmp_path: Path) -> tuple[Scenario, Config]:
    scenario = Scenario(ANCHOR, "http://127.0.0.1:9")
    return scenario, scenario.write(tmp_path)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


MINUTE = timedelta(minutes=1)

# (vendor, monitor, region, instant, answer)
ANSWERS = [
    ("messaging", "send", "atlanta", ANCHOR, "down"),
    ("messaging", "send", "chicago", ANCHOR, "up"),
    ("messaging", "send", "california", ANCHOR, "up"),
    ("messaging", "send", "atlanta", ANCHOR - timedelta(days=2), "down"),
    ("messaging", "send", "atlanta", ANCHOR - timedelta(days=2, seconds=1), "up"),
    ("messaging", "send", "atlanta", local(NEW_YORK, 2025, 2, 8, 9, 0), "down"),
    ("messaging", "send", "atlanta", local(NEW_YORK, 2025, 2, 8, 13, 59), "down"),
    ("messaging", "send", "atlanta", local(NEW_YORK, 2025, 2, 8, 14, 0), "up"),
    ("messaging", "send", "chicago", local(NEW_YORK, 2025, 2, 8, 10, 0), "up"),
    ("classroom", "app", "chicago", local(LOS_ANGELES, 2025, 2, 12, 7, 59), "up"),
    ("classroom", "app", "chicago", local(LOS_ANGELES, 2025, 2, 12, 8, 0), "down"),
    ("classroom", "app", "atlanta", local(LOS_ANGELES, 2025, 2, 12, 14, 29), "down"),
    ("classroom", "app", "california", local(LOS_ANGELES, 2025, 2, 12, 14, 30), "up"),
    ("classroom", "app", "california", local(LOS_ANGELES, 2025, 1, 12, 9, 0), "down"),
    # Thursday 6 March: the weekly window 02:00-04:00 New York, down until 04:30
    ("video", "sessions", "chicago", local(NEW_YORK, 2025, 3, 6, 1, 59), "up"),
    ("video", "sessions", "chicago", local(NEW_YORK, 2025, 3, 6, 2, 0), "down"),
    ("video", "sessions", "atlanta", local(NEW_YORK, 2025, 3, 6, 4, 29), "down"),
    ("video", "sessions", "atlanta", local(NEW_YORK, 2025, 3, 6, 4, 30), "up"),
    # the announced window open now (ANCHOR - 30 min to + 90 min), down 30 minutes past its end
    ("video", "sessions", "california", ANCHOR - 31 * MINUTE, "up"),
    ("video", "sessions", "california", ANCHOR, "down"),
    ("video", "sessions", "california", ANCHOR + 119 * MINUTE, "down"),
    ("video", "sessions", "california", ANCHOR + 120 * MINUTE, "up"),
    # the emergency windows: 20 February 21:00-23:00 Chicago, and ANCHOR + 3 h to + 4 h
    ("helpdesk", "tickets", "chicago", local(CHICAGO, 2025, 2, 20, 21, 0), "down"),
    ("helpdesk", "tickets", "chicago", local(CHICAGO, 2025, 2, 20, 23, 0), "up"),
    ("helpdesk", "tickets", "atlanta", ANCHOR + 3 * timedelta(hours=1), "down"),
    ("helpdesk", "tickets", "atlanta", ANCHOR + 4 * timedelta(hours=1), "up"),
    # the flapping monitor: down the first minute of every 4 since an hour before ANCHOR
    ("gradebook", "reports", "chicago", ANCHOR - timedelta(hours=1, seconds=1), "up"),
    ("gradebook", "reports", "chicago", ANCHOR - timedelta(hours=1), "down"),
    ("gradebook", "reports", "chicago", ANCHOR - timedelta(minutes=59), "up"),
    ("gradebook", "reports", "atlanta", ANCHOR + 4 * MINUTE, "down"),
    ("gradebook", "reports", "atlanta", ANCHOR + timedelta(days=3, minutes=2), "up"),
    ("gradebook", "reports", "atlanta", ANCHOR + timedelta(days=3, minutes=4), "down"),
    ("gradebook", "app", "chicago", ANCHOR, "up"),
    ("gradebook", "app", "chicago", local(CHICAGO, 2025, 3, 5, 10, 11), "down"),
    ("gradebook", "app", "chicago", local(CHICAGO, 2025, 3, 5, 10, 12), "up"),
    ("library", "search", "atlanta", datetime(2025, 3, 9, 18, 10, tzinfo=UTC), "slow"),
    ("library", "search", "atlanta", datetime(2025, 3, 9, 18, 30, tzinfo=UTC), "up"),
    ("busroutes", "map", "chicago", local(LOS_ANGELES, 2025, 2, 12, 8, 0), "up"),
    ("busroutes", "map", "atlanta", ANCHOR, "up"),
]


@pytest.mark.parametrize(
    ("vendor", "monitor", "region", "at", "answer"),
    ANSWERS,
    ids=[f"{v}-{m}-{r}-{at:%Y%m%dT%H%M%S}-{a}" for v, m, r, at, a in ANSWERS],
)
def test_scenario_answers(
    scenario_config: tuple[Scenario, Config],
    vendor: str,
    monitor: str,
    region: str,
    at: datetime,
    answer: str,
) -> None:
    scenario, config = scenario_config
    assert scenario.timeline(config).answer((vendor, monitor, region), at) == answer


def test_scenario_windows_are_scheduled_or_emergency_by_their_notice(
    scenario_config: tuple[Scenario, Config],
) -> None:
    _, config = scenario_config
    february = Interval(local(CHICAGO, 2025, 2, 1), local(CHICAGO, 2025, 3, 1))
    [emergency] = config.vendor("helpdesk").windows(february)
    assert emergency.kind is WindowKind.EMERGENCY
    assert emergency.interval == Interval(
        local(CHICAGO, 2025, 2, 20, 21), local(CHICAGO, 2025, 2, 20, 23)
    )
    soon = config.vendor("helpdesk").windows(Interval(ANCHOR, ANCHOR + timedelta(hours=5)))
    assert [w.kind for w in soon] == [WindowKind.EMERGENCY]
    weekly = config.vendor("video").windows(february)
    assert len(weekly) == 4 and {w.kind for w in weekly} == {WindowKind.SCHEDULED}
    [open_now] = config.vendor("video").windows(Interval(ANCHOR, ANCHOR + MINUTE))
    assert open_now.kind is WindowKind.SCHEDULED and open_now.source == "announced"
    assert set(SHOWS) == set(config.vendor_ids)


def test_segments_cover_the_span_and_down_wins_over_slow() -> None:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    timeline = Timeline(
        {
            ("v", "m"): [
                once("slow", Interval(t, t + 10 * MINUTE)),
                once("down", Interval(t + 5 * MINUTE, t + 15 * MINUTE), ["atlanta"]),
                every("down", timedelta(hours=1), MINUTE, since=t + timedelta(hours=1)),
            ]
        }
    )
    span = Interval(t - MINUTE, t + timedelta(hours=1, minutes=2))
    assert timeline.segments(("v", "m", "atlanta"), span) == [
        (Interval(t - MINUTE, t), "up"),
        (Interval(t, t + 5 * MINUTE), "slow"),
        (Interval(t + 5 * MINUTE, t + 15 * MINUTE), "down"),
        (Interval(t + 15 * MINUTE, t + timedelta(hours=1)), "up"),
        (Interval(t + timedelta(hours=1), t + timedelta(hours=1, minutes=1)), "down"),
        (Interval(t + timedelta(hours=1, minutes=1), span.end), "up"),
    ]
    assert timeline.segments(("v", "m", "chicago"), Interval(t, t + 15 * MINUTE)) == [
        (Interval(t, t + 10 * MINUTE), "slow"),
        (Interval(t + 10 * MINUTE, t + 15 * MINUTE), "up"),
    ]
    assert timeline.answer(("other", "m", "chicago"), t) == "up"
    assert Spell("down", Interval(t, t)).seen_from("anywhere")


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (datetime(2026, 12, 1, 12, tzinfo=UTC), (2026, 11)),
        # still 30 November in Los Angeles (classroom): November is not over everywhere
        (datetime(2026, 12, 1, 3, tzinfo=UTC), (2026, 10)),
        (datetime(2026, 1, 15, tzinfo=UTC), (2025, 12)),
    ],
    ids=["december", "november-in-los-angeles", "january"],
)
def test_last_month_is_over_on_every_vendors_clock(
    scenario_config: tuple[Scenario, Config], now: datetime, month: tuple[int, int]
) -> None:
    assert last_month(scenario_config[1], now) == month


async def test_simulator_answers_each_region_by_the_timeline(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    scenario = Scenario.starting(datetime.now(UTC), "http://127.0.0.1:9")
    simulator = Simulator(timeline_script(scenario.timeline(scenario.write(tmp_path))))
    server = await aiohttp_server(simulator.app())
    client = aiohttp.ClientSession()
    try:
        answers = {}
        for path in ("/messaging/send", "/busroutes/map", "/nobody", "/busroutes/map/x"):
            for region in (None, "atlanta", "chicago"):
                query = {} if region is None else {"region": region}
                async with client.get(server.make_url(path), params=query) as response:
                    answers[path, region] = response.status
    finally:
        await client.close()
    assert answers == {
        ("/messaging/send", None): 404,
        ("/messaging/send", "atlanta"): 503,
        ("/messaging/send", "chicago"): 200,
        ("/busroutes/map", None): 404,
        ("/busroutes/map", "atlanta"): 200,
        ("/busroutes/map", "chicago"): 200,
        ("/nobody", None): 404,
        ("/nobody", "atlanta"): 404,
        ("/nobody", "chicago"): 404,
        ("/busroutes/map/x", None): 404,
        ("/busroutes/map/x", "atlanta"): 404,
        ("/busroutes/map/x", "chicago"): 404,
    }
    assert len(simulator.hits) == len(answers)


def test_regional_jobs_name_their_region(scenario_config: tuple[Scenario, Config]) -> None:
    _, config = scenario_config
    jobs = regional_jobs(config_jobs(config))
    assert len(jobs) == len(config_jobs(config))
    urls = {(j.target.vendor, j.target.monitor, j.region): j.target.url for j in jobs}
    assert (
        urls["messaging", "send", "atlanta"] == "http://127.0.0.1:9/messaging/send?region=atlanta"
    )


def _intervals(db: Path, vendor: str, monitor: str, region: str) -> list[tuple[str, Interval]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            'select state, start, "end" from state_intervals '
            "where vendor = ? and monitor = ? and region = ? order by start",
            [vendor, monitor, region],
        ).fetchall()
    return [(state, Interval(from_db_time(a), from_db_time(b))) for state, a, b in rows]


def test_history_stores_the_script_and_continues_without_repeating(
    scenario_config: tuple[Scenario, Config], tmp_path: Path
) -> None:
    scenario, config = scenario_config
    timeline = scenario.timeline(config)
    db = tmp_path / "history.db"
    stored = write_history(db, config, timeline, ANCHOR, HISTORY)
    keys = sum(len(m.regions) for v in config.vendors for m in v.monitors)
    assert stored >= keys * (HISTORY // STEP)
    # the state intervals are the script's, to the second
    down = [i for i in _intervals(db, "classroom", "app", "chicago") if i[0] == "down"]
    bad_day = Interval(local(LOS_ANGELES, 2025, 2, 12, 8), local(LOS_ANGELES, 2025, 2, 12, 14, 30))
    assert ("down", bad_day) in down
    atlanta = _intervals(db, "messaging", "send", "atlanta")
    fault = Interval(local(NEW_YORK, 2025, 2, 8, 9), local(NEW_YORK, 2025, 2, 8, 14))
    assert ("down", fault) in atlanta
    assert not [i for i in _intervals(db, "messaging", "send", "chicago") if i[0] != "up"]

    assert write_history(db, config, timeline, ANCHOR, HISTORY) == 0  # nothing new: nothing
    later = ANCHOR + timedelta(hours=2)
    more = write_history(db, config, timeline, later, HISTORY)
    # one result per key at each STEP of the two hours and at each change of its answer
    changes = sum(
        len(timeline.segments(k, Interval(ANCHOR, later)))
        for k in ((v.id, m.id, r) for v in config.vendors for m in v.monitors for r in m.regions)
    )
    assert more <= keys * (2 * timedelta(hours=1) // STEP) + changes
    assert more >= keys * (2 * timedelta(hours=1) // STEP)


# --------------------------------------------------------------------------------------------
# uptime-ledger demo, as a user runs it


@pytest.fixture
def run_demo() -> Iterator[Any]:
    started: list[Demo] = []

    def start(*args: str | Path, cwd: Path, tmpdir: Path) -> Demo:
        demo = Demo(*args, cwd=cwd, tmpdir=tmpdir)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        if demo.process.poll() is None:
            demo.stop_now()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def hourly_probes_before(db: Path, hour: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("select sum(probes) from hourly where hour < ?", [hour]).fetchone()[0]


def test_demo_serves_the_scenario_and_writes_last_months_report(
    tmp_path: Path, run_demo: Any
) -> None:
    cwd, tmpdir, out, db = tmp_path / "cwd", tmp_path / "tmp", tmp_path / "out", tmp_path / "d.db"
    cwd.mkdir()
    tmpdir.mkdir()
    port = free_port()
    started = datetime.now(UTC)
    demo = run_demo("--port", port, "--db", db, "--out", out, cwd=cwd, tmpdir=tmpdir)
    urls = demo.wait_ready()
    base = f"http://127.0.0.1:{port}"
    assert urls["status page"] == f"{base}/"
    assert urls["metrics"] == f"{base}/metrics"
    assert urls["status API"] == f"{base}/api/v1/status"
    assert get_json(f"{base}/healthz") == {"status": "ok"}

    status = get_json(urls["status API"])
    views = {(s["vendor"], s["monitor"], s["region"]): s["state"] for s in status["states"]}
    for vendor in SHOWS:
        assert {r for v, _, r in views if v == vendor} == set(REGIONS), vendor
    messaging = {r: views["messaging", "send", r] for r in REGIONS}
    assert messaging == {"atlanta": "down", "chicago": "up", "california": "up"}
    assert monitor_state(messaging, REGIONS, "all") == "up"  # an advisory, not an outage
    vendor_states = {v["id"]: v["state"] for v in status["vendors"]}
    assert vendor_states["messaging"] == "up"
    assert vendor_states["video"] == "maintenance"  # its announced window is open now
    assert {views["busroutes", "map", r] for r in REGIONS} == {"up"}
    assert status["probing"]["regions"] == list(REGIONS)

    def live() -> bool:
        states = get_json(urls["status API"])["states"]
        return any(datetime.fromisoformat(s["last_seen"]) > started for s in states)

    deadline = time.monotonic() + 60
    while not live():
        assert time.monotonic() < deadline, "no live probe result arrived"
        time.sleep(0.5)

    report_path = Path(urls["report"])
    report_path = report_path if report_path.is_absolute() else cwd / report_path
    assert report_path.parent == out
    report = json.loads(report_path.read_text(encoding="utf-8"))
    vendors = {v["vendor"]: v for v in report["vendors"]}
    assert set(vendors) == set(SHOWS)

    classroom = vendors["classroom"]
    assert classroom["met"] is False
    assert classroom["minutes"]["downtime"] == 390.0
    assert classroom["credit"]["hours"] == 6
    assert float(classroom["credit"]["amount"]) > 0

    video = vendors["video"]
    overruns = [i for i in video["interruptions"] if i["scheduled"] > 0 and i["downtime"] > 0]
    assert overruns and all(i["downtime"] == 30.0 for i in overruns)
    assert video["minutes"]["scheduled"] >= 120.0 * len(overruns)
    assert video["minutes"]["downtime"] >= 30.0 * len(overruns)

    helpdesk = vendors["helpdesk"]
    assert helpdesk["minutes"]["emergency"] == 120.0
    assert [i["emergency"] for i in helpdesk["interruptions"]] == [120.0]
    assert helpdesk["minutes"]["scheduled"] == 0.0

    messaging_month = vendors["messaging"]
    assert messaging_month["interruptions"] == [] and messaging_month["availability_pct"] == 100

    code, err = demo.interrupt()
    assert code == 0, err
    assert "demo stopped" in err
    assert files_under(tmpdir) == set()
    assert files_under(cwd) == set()
    assert files_under(out) == {report_path.with_suffix(s).name for s in (".json", ".csv", ".html")}
    assert {p.name for p in tmp_path.iterdir()} <= {
        "cwd",
        "tmp",
        "out",
        "d.db",
        "d.db-wal",
        "d.db-shm",
    }

    # a second start on the same database continues it: the stored past is not written again
    hour = (started - timedelta(hours=1)).strftime("%Y-%m-%dT%H:00Z")
    before = hourly_probes_before(db, hour)
    again = run_demo("--port", port, "--db", db, "--out", out, cwd=cwd, tmpdir=tmpdir)
    again.wait_ready()
    assert hourly_probes_before(db, hour) == before
    code, err = again.interrupt()
    assert code == 0, err
    second = json.loads(report_path.read_text(encoding="utf-8"))
    assert {**second, "generated_at": None} == {**report, "generated_at": None}


def test_demo_without_a_database_leaves_only_its_report(tmp_path: Path, run_demo: Any) -> None:
    cwd, tmpdir = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmpdir.mkdir()
    demo = run_demo("--port", free_port(), cwd=cwd, tmpdir=tmpdir)
    urls = demo.wait_ready()
    assert get_json(urls["status API"])["states"]
    assert files_under(tmpdir)  # the configuration and the database, while it runs
    code, err = demo.interrupt(signal.SIGTERM)
    assert code == 0, err
    assert files_under(tmpdir) == set()
    assert {p.split("/")[0] for p in files_under(cwd)} == {"demo-reports"}
    reports = sorted(p.suffix for p in (cwd / "demo-reports").iterdir())
    assert reports == [".csv", ".html", ".json"]  # not PDF: it needs the pdf extra


def test_demo_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    cwd, tmpdir = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmpdir.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "uptime.cli", "demo", "--port", str(port)],
            cwd=cwd,
            env={**os.environ, "TMPDIR": str(tmpdir)},
            capture_output=True,
            text=True,
            timeout=STARTUP,
        )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    [error] = errors
    assert error.startswith(f"uptime-ledger: error: cannot listen on 127.0.0.1:{port}: ")
    assert error.endswith("address already in use"), done.stderr
    assert done.stdout == ""
    assert files_under(cwd) == set() and files_under(tmpdir) == set()
