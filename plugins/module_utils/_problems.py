# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one form of a refused input and of a run that wrote nothing, and the one way a module ends.

Pure code (standard library, Python 3.9+: the host families use it on the node too) apart from
``run_module`` and ``finish``, which only hand a runner's result to the AnsibleModule. A problem reads
``<field>: <value> <rule>`` (the value as JSON, as the user wrote it), built by ``problem`` or
collected by ``Problems``; a run that refuses its input returns ``nothing_written(problems)``:
``failed``, ``changed=False``, every problem under ``problems`` and a message that says nothing
was written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MAX_LISTED_PROBLEMS = 50
SUBJECTS_LISTED = 3  # a folded warning names this many subjects, then counts the rest
_SUBJECT_AND_TEXT = re.compile(r'(\S+): (.+)\Z', re.S)  # a VM (ns/name) or a field path, then what is said of it


def _compact(value):
    """Unset suboptions (None) left out, so the value reads as the user wrote it."""
    if isinstance(value, dict):
        return dict((k, _compact(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _as_json(value):
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:
        # Keys of mixed types cannot be sorted, and a value JSON has no form for (bytes, a set)
        # still has to reach the message rather than crash the run that is refusing it.
        return json.dumps(value, default=repr)


def problem(field, value, rule):
    """The one message format: field, the offending value and the rule it breaks."""
    return '%s: %s %s' % (field, _as_json(_compact(value)), rule)


class Problems:
    """Collects problems in the one format; false while there is none."""

    def __init__(self):
        self.items = []

    def add(self, field, value, rule):
        self.items.append(problem(field, value, rule))

    def __bool__(self):
        return bool(self.items)

    def __len__(self):
        return len(self.items)


def nothing_written(problems, **extra):
    """The failure of a run that found ``problems`` before its first write (the message lists the first 50)."""
    problems = list(problems)
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    msg = '%d problem(s), nothing was written: %s%s' % (len(problems), '; '.join(shown), ' (and %d more)' % more if more else '')
    return dict(extra, failed=True, changed=False, msg=msg, problems=problems)


def run_module(module, runner, factory=None, connect=None, **extra):
    """All of a module's main() once it built ``module``: the one contract, then ``finish``.

    ``runner(params, factory, check_mode, diff, **extra)`` returns the result dict; ``factory()``
    opens the seam (a ``HostIO``) and the runner calls it only when it needs it. A seam built
    from the module's options is given as ``connect(params, check_mode=...)`` instead
    (``KubeApi.from_params``).
    """
    if connect is not None:
        def factory():
            return connect(module.params, check_mode=module.check_mode)
    finish(module, runner(module.params, factory, module.check_mode, module._diff, **extra))  # pylint: disable=protected-access


def fold_repeated(messages):
    """Messages that say the same of many subjects (``<subject>: <text>``) as one message each,
    in first-seen order: 1,000 VMs with the same DNS gap make one warning, not 1,000 (each VM's
    own result keeps its own). Messages without a subject are only deduplicated."""
    subjects_of, order = {}, []
    for message in messages:
        match = _SUBJECT_AND_TEXT.match(message)
        key = ('text', match.group(2)) if match else ('whole', message)
        if key not in subjects_of:
            subjects_of[key] = []
            order.append(key)
        if match and match.group(1) not in subjects_of[key]:
            subjects_of[key].append(match.group(1))
    folded = []
    for kind, text in order:
        subjects = subjects_of[(kind, text)]
        if kind == 'whole':
            folded.append(text)
            continue
        listed, more = subjects[:SUBJECTS_LISTED], len(subjects) - SUBJECTS_LISTED
        if more > 0:
            names = '%s and %d more' % (', '.join(listed), more)
        elif len(listed) > 1:
            names = '%s and %s' % (', '.join(listed[:-1]), listed[-1])
        else:
            names = listed[0]
        folded.append('%s: %s' % (names, text))
    return folded


def finish(module, result):
    """End the module with a runner's result: its warnings (repeats folded), then fail_json or exit_json."""
    result = dict(result)
    for warning in fold_repeated(result.pop('warnings', None) or []):
        module.warn(warning)
    if result.get('failed'):
        result.pop('failed')
        module.fail_json(**result)
    module.exit_json(**result)
