# Records per-play and per-task wall time (task start to next task start, as profile_tasks does)
# and the run's stats, as JSON in $SENEX_TIMING_FILE, for bench/converge/run.ts.
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: senex_timing
type: aggregate
short_description: per-play and per-task wall times as JSON
requirements: [enable in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "senex_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.t0 = time.monotonic()
        self.plays = []
        self.tasks = []

    def _close_task(self):
        if self.tasks and "s" not in self.tasks[-1]:
            self.tasks[-1]["s"] = round(time.monotonic() - self.tasks[-1].pop("_t"), 3)

    def _close_play(self):
        self._close_task()
        if self.plays and "s" not in self.plays[-1]:
            self.plays[-1]["s"] = round(time.monotonic() - self.plays[-1].pop("_t"), 3)

    def v2_playbook_on_play_start(self, play):
        self._close_play()
        self.plays.append({"name": play.get_name(), "_t": time.monotonic()})

    def _start(self, task, handler=False):
        self._close_task()
        self.tasks.append({"play": self.plays[-1]["name"] if self.plays else "", "name": task.get_name(), "handler": handler, "tags": list(task.tags or []), "changed": False, "_t": time.monotonic()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, handler=True)

    def _result(self, result, status):
        if self.tasks:
            t = self.tasks[-1]
            t.setdefault("results", {}).setdefault(status, 0)
            t["results"][status] += 1
            if result._result.get("changed"):
                t["changed"] = True

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._result(result, "item_ok")

    def v2_runner_item_on_skipped(self, result):
        self._result(result, "item_skipped")

    def v2_playbook_on_stats(self, stats):
        self._close_play()
        out = {
            "total_s": round(time.monotonic() - self.t0, 3),
            "plays": self.plays,
            "tasks": self.tasks,
            "stats": {h: stats.summarize(h) for h in sorted(stats.processed.keys())},
        }
        path = os.environ.get("SENEX_TIMING_FILE")
        if path:
            with open(path, "w") as f:
                json.dump(out, f, indent=1)
