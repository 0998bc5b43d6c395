"""Server-side printing: ``meta.k8s.io/v1`` Table answers for ``kubectl get`` (printer columns)."""
import datetime
import re

NAME_COLUMN = {'name': 'Name', 'type': 'string', 'format': 'name', 'priority': 0,
               'description': 'Name must be unique within a namespace.'}
AGE_COLUMN = {'name': 'Age', 'type': 'date', 'jsonPath': '.metadata.creationTimestamp', 'priority': 0,
              'description': 'CreationTimestamp is a timestamp representing the server time when this object was created.'}
BUILTIN_COLUMNS = {
    'namespaces': [{'name': 'Status', 'type': 'string', 'jsonPath': '.status.phase'}, AGE_COLUMN],
    'pods': [{'name': 'Status', 'type': 'string', 'jsonPath': '.status.phase'},
             {'name': 'Node', 'type': 'string', 'jsonPath': '.spec.nodeName', 'priority': 1}, AGE_COLUMN],
    'secrets': [{'name': 'Type', 'type': 'string', 'jsonPath': '.type'}, AGE_COLUMN],
    'customresourcedefinitions': [{'name': 'Created At', 'type': 'string', 'format': 'date-time',
                                   'jsonPath': '.metadata.creationTimestamp'}],
}
_TOKEN = re.compile(r"\.([A-Za-z0-9_$-]+)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\[\*\]|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*'([^']*)'\)\]")


class JsonPathError(ValueError):
    """A printer-column path outside the supported subset."""


def parse_path(path):
    tokens, position = [], 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match:
            raise JsonPathError('unsupported JSONPath %r at %d' % (path, position))
        field, quoted, index, filter_key, filter_value = match.groups()
        if field is not None:
            tokens.append(('key', field))
        elif quoted is not None:
            tokens.append(('key', re.sub(r'\\(.)', r'\1', quoted)))
        elif index is not None:
            tokens.append(('index', int(index)))
        elif filter_key is not None:
            tokens.append(('filter', (filter_key, filter_value)))
        else:
            tokens.append(('all', None))
        position = match.end()
    return tokens


def evaluate(obj, path):
    """All values a (subset) JSONPath selects, in order."""
    current = [obj]
    for kind, arg in parse_path(path):
        following = []
        for value in current:
            if kind == 'key' and isinstance(value, dict) and arg in value:
                following.append(value[arg])
            elif kind == 'index' and isinstance(value, list) and -len(value) <= arg < len(value):
                following.append(value[arg])
            elif kind == 'all' and isinstance(value, list):
                following.extend(value)
            elif kind == 'filter' and isinstance(value, list):
                key, wanted = arg
                following.extend(item for item in value if _dig(item, key) == wanted)
        current = following
    return current


def _dig(value, dotted):
    for part in dotted.split('.'):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value if value is None else str(value) if not isinstance(value, str) else value


def human_age(timestamp, now=None):
    """kubectl's short duration: 42s, 5m, 3h, 2d."""
    try:
        then = datetime.datetime.strptime(timestamp, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return '<unknown>'
    seconds = int(((now or datetime.datetime.now(datetime.timezone.utc)) - then).total_seconds())
    seconds = max(seconds, 0)
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds >= size * (2 if unit != 'd' else 1):
            return '%d%s' % (seconds // size, unit)
    return '%ds' % seconds


def _cell(obj, column):
    values = evaluate(obj, column['jsonPath'])
    if not values:
        return None
    value = values[0]
    kind = column.get('type')
    if kind == 'date':
        return human_age(value)
    if kind == 'integer' and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == 'boolean' and isinstance(value, bool):
        return value
    if kind == 'number' and isinstance(value, (int, float)):
        return value
    if isinstance(value, (dict, list)):
        import json  # pylint: disable=import-outside-toplevel
        return json.dumps(value, separators=(',', ':'))
    return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def columns_for(res):
    if res.custom:
        defined = [dict(c) for c in res.printer_columns or []]
        return [NAME_COLUMN] + (defined if defined else [AGE_COLUMN])
    return [NAME_COLUMN] + BUILTIN_COLUMNS.get(res.plural, [AGE_COLUMN])


def table(res, objects, include_object='Metadata', list_meta=None, api_version='meta.k8s.io/v1'):
    columns = columns_for(res)
    definitions = [{'name': c['name'], 'type': 'string' if c.get('type') == 'date' else c.get('type', 'string'),
                    'format': c.get('format', ''), 'description': c.get('description', ''),
                    'priority': c.get('priority', 0)} for c in columns]
    rows = []
    for obj in objects:
        cells = [obj['metadata'].get('name')] + [_cell(obj, c) for c in columns[1:]]
        row = {'cells': cells}
        if include_object == 'Object':
            row['object'] = obj
        elif include_object != 'None':
            row['object'] = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1', 'metadata': obj['metadata']}
        rows.append(row)
    return {'kind': 'Table', 'apiVersion': api_version, 'metadata': list_meta or {}, 'columnDefinitions': definitions,
            'rows': rows}
