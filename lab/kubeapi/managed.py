"""Field ownership (metadata.managedFields) and server-side apply.

A field path is a tuple of fieldsV1 elements: ``f:<name>`` (map key), ``k:<json keys>`` (item
of a list-map), ``v:<json value>`` (item of a set). Only leaves and list items are recorded,
which is what conflict detection and field removal need.
"""
import copy
import json

# Server-owned metadata that never shows up in a field set.
UNTRACKED_META = {'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields',
                  'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName'}
META_LISTS = {'finalizers': ('set', None), 'ownerReferences': ('map', ['uid'])}


class Shape:
    """Answers 'how is this list merged' for a resource: CRD schema markers or built-in merge keys."""

    def __init__(self, res):
        self.res = res

    def child(self, schema, key):
        if not isinstance(schema, dict):
            return None
        props = schema.get('properties') or {}
        if key in props:
            return props[key]
        extra = schema.get('additionalProperties')
        return extra if isinstance(extra, dict) else None

    def list_kind(self, schema, key, path):
        if path and path[0] == 'f:metadata' and len(path) == 2 and key in META_LISTS:
            return META_LISTS[key]
        if self.res.custom:
            if isinstance(schema, dict) and schema.get('x-kubernetes-list-type') == 'map':
                return 'map', schema.get('x-kubernetes-list-map-keys') or []
            if isinstance(schema, dict) and schema.get('x-kubernetes-list-type') == 'set':
                return 'set', None
            return 'atomic', None
        merge_key = self.res.merge_keys.get(key)
        if merge_key:
            return 'map', [merge_key]
        return 'atomic', None


def _key_element(item, keys):
    return 'k:' + json.dumps({key: item.get(key) for key in keys}, sort_keys=True, separators=(',', ':'))


def _value_element(value):
    return 'v:' + json.dumps(value, sort_keys=True, separators=(',', ':'))


def field_paths(obj, shape, schema, only_status=False, with_status=True):
    """The field set of an object (what a manager owns when it wrote ``obj``)."""
    paths = set()
    for key, value in obj.items():
        if key in ('apiVersion', 'kind'):
            continue
        if only_status and key != 'status' or key == 'status' and not with_status:
            continue
        if key == 'metadata':
            meta = {k: v for k, v in (value or {}).items() if k not in UNTRACKED_META}
            _walk(meta, shape, None, ('f:metadata',), paths)
            continue
        _walk_value(key, value, shape, shape.child(schema, key), ('f:' + key,), paths)
    return paths


def _walk(mapping, shape, schema, prefix, paths):
    if not mapping and len(prefix) > 1:
        paths.add(prefix)
    for key, value in mapping.items():
        _walk_value(key, value, shape, shape.child(schema, key), prefix + ('f:' + key,), paths)


def _walk_value(key, value, shape, schema, path, paths):
    if isinstance(value, dict) and value and not _atomic_map(schema):
        _walk(value, shape, schema, path, paths)
        return
    if isinstance(value, list) and value:
        kind, keys = shape.list_kind(schema, key, path[:-1])
        items_schema = schema.get('items') if isinstance(schema, dict) else None
        if kind == 'map' and all(isinstance(item, dict) for item in value):
            for item in value:
                item_path = path + (_key_element(item, keys),)
                paths.add(item_path)
                _walk(item, shape, items_schema, item_path, paths)
            return
        if kind == 'set':
            for item in value:
                paths.add(path + (_value_element(item),))
            return
    paths.add(path)


def _atomic_map(schema):
    return isinstance(schema, dict) and schema.get('x-kubernetes-map-type') == 'atomic'


# ------------------------------------------------------------------ path access

def _find(container, element):
    """Child of ``container`` named by one path element, or a sentinel when absent."""
    kind, _sep, raw = element.partition(':')
    if kind == 'f':
        return container.get(raw, MISSING) if isinstance(container, dict) else MISSING
    if not isinstance(container, list):
        return MISSING
    wanted = json.loads(raw)
    if kind == 'k':
        for item in container:
            if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()):
                return item
        return MISSING
    return wanted if wanted in container else MISSING


MISSING = object()


def value_at(obj, path):
    current = obj
    for element in path:
        current = _find(current, element)
        if current is MISSING:
            return MISSING
    return current


def remove_path(obj, path):
    """Delete the field (or list item) a path names; drop maps that this leaves empty."""
    parents = [obj]
    for element in path[:-1]:
        child = _find(parents[-1], element)
        if child is MISSING:
            return
        parents.append(child)
    container, element = parents[-1], path[-1]
    kind, _sep, raw = element.partition(':')
    if kind == 'f' and isinstance(container, dict):
        container.pop(raw, None)
    elif isinstance(container, list):
        target = _find(container, element)
        if target is not MISSING:
            container.remove(target)
    for depth in range(len(parents) - 1, 0, -1):
        node = parents[depth]
        if node in ({}, []):
            parent = parents[depth - 1]
            elem = path[depth - 1]
            if elem.startswith('f:') and isinstance(parent, dict):
                parent.pop(elem[2:], None)
            elif isinstance(parent, list) and node in parent:
                parent.remove(node)
        else:
            break


# ------------------------------------------------------------------ fieldsV1 encoding

def to_fields_v1(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    # A list item that is owned itself and has owned children carries a '.' marker.
    for path in paths:
        node = value_at_tree(tree, path)
        if node:
            node['.'] = {}
    return tree


def value_at_tree(tree, path):
    node = tree
    for element in path:
        node = node[element]
    return node


def from_fields_v1(tree, prefix=()):
    paths = set()
    for element, sub in (tree or {}).items():
        if element == '.':
            paths.add(prefix)
            continue
        path = prefix + (element,)
        if sub:
            paths |= from_fields_v1(sub, path)
        else:
            paths.add(path)
    return paths


# ------------------------------------------------------------------ managers

class Conflict(Exception):
    """Server-side apply conflicts: list of (manager, path)."""

    def __init__(self, conflicts):
        super().__init__('conflicts')
        self.conflicts = conflicts


def path_text(path):
    parts = []
    for element in path:
        kind, _sep, raw = element.partition(':')
        if kind == 'f':
            parts.append('.' + raw)
        elif kind == 'k':
            parts.append('[' + ','.join('%s=%s' % (k, json.dumps(v)) for k, v in json.loads(raw).items()) + ']')
        else:
            parts.append('[=%s]' % raw)
    return ''.join(parts)


def load_managers(obj):
    """[(entry_without_fields, paths)] from an object's managedFields."""
    managers = []
    for entry in (obj.get('metadata') or {}).get('managedFields') or []:
        if not isinstance(entry, dict) or not entry.get('manager') and not entry.get('fieldsV1'):
            continue
        head = {k: v for k, v in entry.items() if k != 'fieldsV1'}
        managers.append((head, from_fields_v1(entry.get('fieldsV1'))))
    return managers


def store_managers(obj, managers):
    entries = []
    for head, paths in managers:
        if not paths:
            continue
        entry = dict(head)
        entry['fieldsType'] = 'FieldsV1'
        entry['fieldsV1'] = to_fields_v1(paths)
        entries.append(entry)
    meta = obj.setdefault('metadata', {})
    if entries:
        meta['managedFields'] = entries
    else:
        meta.pop('managedFields', None)


def _same_owner(head, manager, operation, subresource):
    return head.get('manager') == manager and head.get('operation') == operation and head.get('subresource') == subresource


def record_update(old, new, managers, manager, api_version, now, shape, schema, subresource=None):
    """Give ``manager`` (operation Update) the fields that changed between ``old`` and ``new``."""
    only_status = subresource == 'status'
    old_paths = field_paths(old, shape, schema, only_status=only_status) if old else set()
    new_paths = field_paths(new, shape, schema, only_status=only_status)
    changed = {p for p in new_paths if p not in old_paths or value_at(old, p) != value_at(new, p)}
    removed = old_paths - new_paths
    result, mine = [], None
    for head, paths in managers:
        if _same_owner(head, manager, 'Update', subresource):
            mine = (head, paths)
            continue
        result.append((head, paths - changed - removed))
    owned = (mine[1] if mine else set()) - removed | changed
    if changed or mine:
        head = {'manager': manager, 'operation': 'Update', 'apiVersion': api_version, 'time': now}
        if subresource:
            head['subresource'] = subresource
        if changed or not mine:
            result.append((head, owned))
        else:
            result.append((mine[0], owned))
    return result


def server_side_apply(live, applied, managers, manager, force, api_version, now, shape, schema, subresource=None):
    """Merge an applied configuration into ``live``; returns (new object, new managers)."""
    only_status = subresource == 'status'
    applied_paths = field_paths(applied, shape, schema, only_status=only_status, with_status=only_status)
    previous = set()
    others = []
    for head, paths in managers:
        if _same_owner(head, manager, 'Apply', subresource):
            previous = paths
        else:
            others.append((head, paths))
    conflicts = []
    for head, paths in others:
        for path in sorted(paths & applied_paths):
            if value_at(live, path) != value_at(applied, path) and not path[-1].startswith(('k:', 'v:')):
                conflicts.append((head, path))
    if conflicts and not force:
        raise Conflict(conflicts)
    if force:
        forced = {path for _head, path in conflicts}
        others = [(head, paths - forced) for head, paths in others]
    result = copy.deepcopy(live) if live else {}
    owned_by_others = set().union(*(paths for _h, paths in others)) if others else set()
    # Shortest first: a list item goes as a whole before its fields (which name it by key) would.
    for path in sorted(previous - applied_paths, key=len):
        if path not in owned_by_others and not any(p[:len(path)] == path for p in owned_by_others):
            remove_path(result, path)
    section = {k: v for k, v in applied.items() if not only_status or k in ('apiVersion', 'kind', 'metadata', 'status')}
    if not only_status:
        section.pop('status', None)
    result = _apply_merge(result, section, shape, schema, ())
    head = {'manager': manager, 'operation': 'Apply', 'apiVersion': api_version, 'time': now}
    if subresource:
        head['subresource'] = subresource
    return result, others + [(head, applied_paths)]


def _apply_merge(live, applied, shape, schema, path):
    if not isinstance(applied, dict) or not isinstance(live, dict) or _atomic_map(schema):
        return copy.deepcopy(applied)
    result = dict(live)
    for key, value in applied.items():
        sub = None if path == ('f:metadata',) else shape.child(schema, key)
        sub_path = path + ('f:' + key,)
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _apply_merge(result[key], value, shape, sub, sub_path)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            kind, keys = shape.list_kind(sub, key, path)
            items_schema = sub.get('items') if isinstance(sub, dict) else None
            if kind == 'map':
                result[key] = _merge_list_map(result[key], value, keys, shape, items_schema, sub_path)
            elif kind == 'set':
                result[key] = list(result[key]) + [item for item in value if item not in result[key]]
            else:
                result[key] = copy.deepcopy(value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list_map(live, applied, keys, shape, schema, path):
    def ident(item):
        return {k: item.get(k) for k in keys} if isinstance(item, dict) else item
    result = [copy.deepcopy(item) for item in live]
    for item in applied:
        index = next((i for i, old in enumerate(result) if ident(old) == ident(item)), None)
        if index is None:
            result.append(copy.deepcopy(item))
        else:
            result[index] = _apply_merge(result[index], item, shape, schema, path)
    return result
