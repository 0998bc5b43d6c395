"""Label and field selectors with the grammar and errors of the real API server."""
import re


class SelectorError(ValueError):
    """An unparsable selector (answered 400 BadRequest)."""


_SET_RE = re.compile(r'^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|!=|=)\s*([A-Za-z0-9_.-]*))?\s*$')
_LABEL_KEY = re.compile(r'^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$')


def _split_terms(text):
    terms, depth, current = [], 0, ''
    for char in text:
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        if char == ',' and depth == 0:
            terms.append(current)
            current = ''
        else:
            current += char
    if current.strip():
        terms.append(current)
    return terms


def parse_label_selector(text):
    """A list of (key, op, values) requirements; op in =, !=, in, notin, exists, !exists."""
    requirements = []
    for term in _split_terms(text or ''):
        match = _SET_RE.match(term)
        if not match:
            raise SelectorError('unable to parse requirement: found %r' % term.strip())
        negate, key, set_op, set_values, op, value = match.groups()
        if not _LABEL_KEY.match(key):
            raise SelectorError('unable to parse requirement: invalid label key "%s"' % key)
        if negate:
            if set_op or op:
                raise SelectorError('unable to parse requirement: found %r' % term.strip())
            requirements.append((key, '!exists', []))
        elif set_op:
            values = [v.strip() for v in set_values.split(',') if v.strip()]
            requirements.append((key, set_op, values))
        elif op:
            requirements.append((key, '!=' if op == '!=' else '=', [value]))
        else:
            requirements.append((key, 'exists', []))
    return requirements


def label_matches(requirements, labels):
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        if op == 'exists' and not present or op == '!exists' and present:
            return False
        if op in ('=', 'in') and labels.get(key) not in values:
            return False
        if op in ('!=', 'notin') and present and labels[key] in values:
            return False
    return True


def parse_field_selector(text, allowed):
    """A list of (path, op, value); only metadata.name, metadata.namespace and ``allowed``."""
    requirements = []
    for term in _split_terms(text or ''):
        match = re.match(r'^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$', term)
        if not match:
            raise SelectorError('invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, term))
        field, op, value = match.groups()
        if field not in ('metadata.name', 'metadata.namespace') and field not in allowed:
            raise SelectorError('field label not supported: %s' % field)
        requirements.append((field, '!=' if op == '!=' else '=', value))
    return requirements


def field_value(obj, dotted):
    current = obj
    for part in dotted.split('.'):
        if not isinstance(current, dict):
            return ''
        current = current.get(part)
    if current is None:
        return ''
    if isinstance(current, bool):
        return 'true' if current else 'false'
    return str(current)


def field_matches(requirements, obj):
    for field, op, value in requirements:
        actual = field_value(obj, field)
        if (actual == value) != (op == '='):
            return False
    return True
