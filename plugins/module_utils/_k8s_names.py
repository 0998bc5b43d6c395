# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes' rules for object names, label and annotation keys and values (pure, no I/O).

The API server refuses what breaks these rules (apimachinery's validation of ObjectMeta); the
modules check them first so a bad value fails naming the field, the value and the rule, with
nothing written. Each check returns ``(field, value, rule)`` tuples, which the modules turn into
messages with ``_problems.problem``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z')
DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z')
QUALIFIED_NAME = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z')
LABEL_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z')
TOTAL_ANNOTATION_BYTES = 256 * 1024

KEY_RULE = ('is not a valid key: the rule is a qualified name, an optional DNS-1123 subdomain prefix (at most 253 characters) '
            'and "/", then a name of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit')
LABEL_VALUE_RULE = ('is not a valid label value: the rule is at most 63 letters, digits, "-", "_" and ".", starting and ending '
                    'with a letter or digit (or empty)')
SCALAR_RULE = 'is not a string value: the rule is a string (numbers and booleans are written as text)'


def is_dns1123_label(value):
    return isinstance(value, str) and len(value) <= 63 and bool(DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value, max_len=253):
    return isinstance(value, str) and len(value) <= max_len and bool(DNS1123_SUBDOMAIN.match(value))


def is_qualified_name(key):
    """A label or annotation key: ``[prefix/]name``, prefix a DNS-1123 subdomain, name at most 63."""
    if not isinstance(key, str) or not key:
        return False
    prefix, sep, name = key.rpartition('/')
    if sep and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(QUALIFIED_NAME.match(name))


def is_label_value(value):
    return isinstance(value, str) and len(value) <= 63 and bool(LABEL_VALUE.match(value))


def as_text(value):
    """A scalar as the API stores it (booleans as true/false); None for anything else."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return None


def check_metadata_map(field, mapping, labels=True):
    """Check a labels (``labels=True``) or annotations mapping.

    Returns ``(problems, clean)``: ``(field, value, rule)`` tuples, and the mapping with every
    value as text (only the entries that passed).
    """
    problems, clean = [], {}
    if mapping is None:
        return problems, clean
    if not isinstance(mapping, dict):
        return [(field, mapping, 'is not a mapping: the rule is a dict of keys to string values')], clean
    for key, value in mapping.items():
        if not is_qualified_name(key):
            problems.append((field, key, KEY_RULE))
            continue
        text = as_text(value)
        if text is None:
            problems.append(('%s.%s' % (field, key), value, SCALAR_RULE))
            continue
        if labels and not is_label_value(text):
            problems.append(('%s.%s' % (field, key), value, LABEL_VALUE_RULE))
            continue
        clean[key] = text
    if not labels:
        size = sum(len(key.encode('utf-8')) + len(value.encode('utf-8')) for key, value in clean.items())
        if size > TOTAL_ANNOTATION_BYTES:
            problems.append((field, '<%d bytes>' % size, 'is too long: the rule is at most %d bytes of annotation keys and values '
                                                         'in total' % TOTAL_ANNOTATION_BYTES))
    return problems, clean
