# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench-only callback: seconds from each task's start to the next one's, with the task's action, as JSON.

Enabled by the benchmarks with ANSIBLE_CALLBACKS_ENABLED=task_seconds and
ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins; VMNET_BENCH_TASK_SECONDS names the file.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
    name: task_seconds
    type: aggregate
    short_description: seconds per task, for the benchmarks
    description: Writes [task, action, seconds] rows to the file named by VMNET_BENCH_TASK_SECONDS.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_seconds'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.rows = []
        self.current = ('(before the first play)', None, time.monotonic())

    def _next(self, name, action=None):
        label, previous_action, started = self.current
        now = time.monotonic()
        self.rows.append([label, previous_action, now - started])
        self.current = (name, action, now)

    def v2_playbook_on_play_start(self, play):
        self._next('play: %s' % play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._next(task.get_name(), task.action)

    def v2_playbook_on_handler_task_start(self, task):
        self._next('handler: %s' % task.get_name(), task.action)

    def v2_playbook_on_stats(self, stats):
        self._next(None)
        with open(os.environ['VMNET_BENCH_TASK_SECONDS'], 'w') as handle:
            json.dump(self.rows, handle)
