"""Patch formats the API server accepts: JSON merge patch (RFC 7386) and strategic merge patch."""
import copy


def merge_patch(target, patch):
    """RFC 7386: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class PatchError(ValueError):
    """A patch that cannot be applied (answered 422 by the server)."""


DIRECTIVE = '$patch'


def strategic_merge(original, patch, merge_keys):
    """Strategic merge patch for built-in kinds, lists merged by the keys in ``merge_keys``.

    ``merge_keys`` maps a list field name to its merge key (None: replace the list). Supports
    ``$patch: replace|delete|merge``, ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
    ignores ``$setElementOrder/<field>`` (order is kept as the original's, new items appended).
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get(DIRECTIVE)
    if directive == 'replace':
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != DIRECTIVE}
    if directive == 'delete':
        return None
    if directive not in (None, 'merge'):
        raise PatchError('Unknown patch type: %s' % directive)
    result = dict(original) if isinstance(original, dict) else {}
    retain = patch.get('$retainKeys')
    for key, value in patch.items():
        if key in (DIRECTIVE, '$retainKeys') or key.startswith('$setElementOrder/'):
            continue
        if key.startswith('$deleteFromPrimitiveList/'):
            field = key.split('/', 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, merge_keys)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and merge_keys.get(key):
            result[key] = _merge_list(result.get(key) or [], value, merge_keys[key], merge_keys)
        else:
            result[key] = copy.deepcopy(value)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError('$retainKeys must be a list')
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original, patch, merge_key, merge_keys):
    if any(isinstance(item, dict) and item.get(DIRECTIVE) == 'replace' for item in patch):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and DIRECTIVE in item)]
    result = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            if item not in result:
                result.append(copy.deepcopy(item))
            continue
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]), None)
        if item.get(DIRECTIVE) == 'delete':
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append({k: copy.deepcopy(v) for k, v in item.items() if k != DIRECTIVE})
        else:
            result[index] = strategic_merge(result[index], item, merge_keys)
    return result
