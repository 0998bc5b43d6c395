# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument-spec helpers shared by the cluster modules.

* ``entries_option(per_object)``: a list option whose entries take the one-object options, with
  their full suboptions, so every key of an inventory entry reaches AnsibleModule's validator
  (types, choices, unknown keys, ``no_log``) before the module's own rules run.
* ``entries(params, list_option, keys)``: the entries to act on, each with the top-level options
  as defaults, and the prefix that names the entry in messages.
* ``StrictModule``: AnsibleModule, except that an unknown option fails naming the list entry it
  was found in (index and name), the key, a close match and the keys allowed there; Ansible's own
  message names none of the entry, which in a list of 40 pools is the part one needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.errors import UnsupportedError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import nothing_written


def entries_option(per_object, required=('name',)):
    """A ``list`` of ``dict`` option whose entries take ``per_object``'s options.

    Defaults are left out of the entries' own options (an entry that does not set an option
    takes the module's top-level value, which carries the default).
    """
    options = {}
    for key, spec in per_object.items():
        spec = copy.deepcopy(spec)
        spec.pop('default', None)
        spec['required'] = key in required
        options[key] = spec
    return dict(type='list', elements='dict', options=options)


def entries(params, list_option, keys):
    """``[(prefix, params of one object)]``: the list's entries over the top-level options, or the top level alone."""
    listed = params.get(list_option)
    if listed is None:
        return [('', dict((key, params.get(key)) for key in keys))]
    result = []
    for index, entry in enumerate(listed):
        merged = {}
        for key in keys:
            value = entry.get(key)
            merged[key] = params.get(key) if value is None else value
        result.append(('%s[%d].' % (list_option, index), merged))
    return result


def unknown_options(spec, params, path=''):
    """Every unknown key in ``params`` (and its nested suboptions) as a message naming the entry (its index, and the
    name of each named entry on the way: ``vms[1] (db1).nics[0] (front)``), the key, a close match and the allowed keys."""
    problems = []
    if not isinstance(params, dict):
        return problems
    allowed = set(spec)
    for option in spec.values():
        allowed.update(option.get('aliases') or ())
    for key in sorted(set(params) - allowed):
        if key.startswith('_ansible_'):
            continue
        close = difflib.get_close_matches(key, sorted(spec), n=1)
        problems.append('%s: unknown option %s%s; the options allowed there are: %s' % (
            path or 'the module', key, ' (did you mean %s?)' % close[0] if close else '', ', '.join(sorted(spec))))
    for key, option in spec.items():
        sub = option.get('options')
        value = params.get(key)
        if not sub or value is None:
            continue
        prefix = '%s.%s' % (path, key) if path else key
        if option.get('type') == 'list' and isinstance(value, list):
            for index, item in enumerate(value):
                name = item.get('name') if isinstance(item, dict) else None
                label = ' (%s)' % name if isinstance(name, str) and name else ''
                problems.extend(unknown_options(sub, item, '%s[%d]%s' % (prefix, index, label)))
        elif isinstance(value, dict):
            problems.extend(unknown_options(sub, value, prefix))
    return problems


class StrictModule(AnsibleModule):
    """AnsibleModule whose unknown-option failure names the entry, the key and the keys allowed there, and whose
    invocation log line also hides multi-line secrets given inside lists and dicts."""

    def _log_invocation(self):
        # The log line writes a list or dict option as str(), which escapes newlines and quotes: a multi-line no_log
        # value (user data) inside vms[] no longer matches itself there and was logged in clear. Hide its escaped form too.
        self.no_log_values.update([repr(value)[1:-1] for value in list(self.no_log_values) if isinstance(value, str)])
        super(StrictModule, self)._log_invocation()

    def fail_json(self, msg=None, **kwargs):  # pylint: disable=arguments-differ
        result = getattr(self, 'validation_result', None)
        errors = list(result.errors) if result is not None else []
        if any(isinstance(error, UnsupportedError) for error in errors) and 'problems' not in kwargs:
            problems = unknown_options(self.argument_spec, self.params)
            problems += [error.msg for error in errors if not isinstance(error, UnsupportedError)]
            if problems:
                kwargs.update(nothing_written(problems))
                kwargs.pop('failed')
                msg = kwargs.pop('msg')
        super(StrictModule, self).fail_json(msg=msg, **kwargs)
