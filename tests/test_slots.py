"""Probe slots against hanging targets: ``check-config``, ``run`` and ``agent`` warn when every
monitor hanging until its timeout would take more slots than ``probing.concurrency`` gives
(the other probes would start late: docs/reliability.md, "Hostile targets")."""

from __future__ import annotations

from pathlib import Path

from support_cli import uptime_ledger
from support_probing import write_config

from uptime.probing.jobs import config_jobs, slot_warning, slot_warnings, slots_if_all_hang


def test_slots_count_every_attempt_of_a_confirmation(tmp_path: Path) -> None:
    # 1 s interval, 1 s timeout (a hanging probe holds its slot the whole interval), the default
    # 2 retries: 3 slots per job, 3 regions.
    config = write_config(tmp_path, "http://127.0.0.1:9/", monitors=20)
    jobs = config_jobs(config)
    assert len(jobs) == 60
    assert slots_if_all_hang(jobs, config.probing) == 180
    assert slot_warning(jobs, config.probing, "run") is None  # 180 of 200
    assert slot_warnings(config) == []


def test_too_few_slots_are_warned_about_per_scheduler(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/", monitors=70)  # 630 slots
    [line] = slot_warnings(config)
    assert line == (
        f"{config.vendors_path}: probing.concurrency: run's in-process region(s) chicago, "
        "california, atlanta would need about 630 probe slots if every monitor hung until its "
        "timeout (failures being confirmed), more than the 200 configured: the other probes "
        "would then start late; raise probing.concurrency to 630 or more"
    )
    # A remote agent's region is its own scheduler: 210 slots each, 420 for run's two.
    token = tmp_path / "atlanta.token"
    token.write_text("a" * 32)
    token.chmod(0o600)
    config = write_config(
        tmp_path,
        "http://127.0.0.1:9/",
        monitors=70,
        region_extra={"atlanta": f", token_file: {token}"},
    )
    found = slot_warnings(config)
    assert [line.split(": ")[2].split(" would")[0] for line in found] == [
        "run's in-process region(s) chicago, california",
        "the agent of region atlanta",
    ]
    assert "about 420 probe slots" in found[0] and "about 210 probe slots" in found[1]


def test_check_config_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/", monitors=70)
    done = uptime_ledger(
        "--vendors", config.vendors_path, "--maintenance", config.maintenance_path,
        "check-config", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"uptime-ledger: warning: {slot_warnings(config)[0]}"]
