"""The demo: simulated vendors with a scripted timeline, and ``uptime-ledger demo``.

``timeline.py`` is the script (pure: what each endpoint answers from each region, when),
``simulator.py`` the local HTTP target that answers by it (the fault-injection tests use it
too), ``scenario.py`` the demo's district (vendors, contracts, maintenance calendar, script),
``history.py`` its last 90 days written through the ingest path, ``run.py`` all of it together.
``faults.py`` is a script of faults and the truth it implies (pure); tests/support_faults.py
plays it with the simulator against the real processes and measures it.
"""
