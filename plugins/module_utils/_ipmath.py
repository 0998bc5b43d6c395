# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP address, CIDR and range arithmetic for Spiderpool ``ips`` / ``excludeIPs`` lists.

Pure functions, standard library only (runs on Python 3.9+). Spiderpool writes address
lists as entries that are either one address (``"10.6.0.5"``) or an inclusive range
(``"10.6.0.10-10.6.0.20"``); CIDR entries are not allowed there. This module turns such
lists into sorted, merged integer intervals ``[(first, last), ...]`` and answers the
questions the webhook asks: family, canonical CIDR, overlap, containment and counts.

Stable interface (other parts of the collection rely on these names and signatures):

- ``IPMathError``: ``ValueError`` subclass raised for any malformed input; the message
  names the offending value and the rule, the caller adds the field name.
- ``ip_family(text)``: 4 or 6 for an address, a ``start-end`` range or a CIDR.
- ``parse_address(text, version=None)``: ``ipaddress`` address object.
- ``parse_cidr(text, version=None, canonical=True)``: ``ipaddress`` network object.
- ``is_canonical_cidr(text, version=None)``: bool.
- ``parse_entry(text, version=None)``: ``(first_int, last_int, version)`` for one entry.
- ``parse_entries(entries, version=None)``: merged interval list for a list of entries.
- ``merge_ranges(ranges)`` / ``subtract_ranges(ranges, removed)`` /
  ``intersect_ranges(a, b)``: interval algebra on interval lists.
- ``ranges_overlap(a, b)``, ``ranges_contain(outer, inner)``: bool.
- ``count_ranges(ranges)``: number of addresses.
- ``effective_ranges(ips, exclude_ips, version=None)``: ``ips`` minus ``excludeIPs``.
- ``count_ips(ips, exclude_ips=(), version=None)``: size of the effective set.
- ``free_ip_count(ips, exclude_ips=(), allocated=(), version=None)``: effective size
  minus allocated addresses that lie inside it (allocated may be addresses or entries).
- ``cidr_range(cidr)``: the network as one interval; ``cidrs_overlap(a, b)``: bool.
- ``entries_outside_cidr(entries, cidr)``: the entries (as given) not fully inside it.
- ``address_in_ranges(address, ranges)``: bool.
- ``format_ranges(ranges, version)``: interval list back to canonical entry strings.
- ``normalize_entries(entries, version=None)``: entries merged and written canonically
  (what Spiderpool's mutating webhook stores).
"""

from __future__ import absolute_import, division, print_function

import ipaddress

__metaclass__ = type  # pylint: disable=invalid-name


class IPMathError(ValueError):
    """A malformed address, range or CIDR; the message names the value and the rule."""


def _clean(text, what):
    if not isinstance(text, str):
        raise IPMathError('%r is not a string (%s expected)' % (text, what))
    value = text.strip()
    if not value or value != text:
        raise IPMathError('%r is not a valid %s (empty or surrounded by whitespace)' % (text, what))
    return value


def _check_version(version):
    if version not in (None, 4, 6):
        raise IPMathError('IP version %r is not 4 or 6' % (version,))


def parse_address(text, version=None):
    """Parse one IP address; with ``version``, require that family."""
    _check_version(version)
    value = _clean(text, 'IP address')
    if '/' in value:
        raise IPMathError('%r is a CIDR, not a single IP address' % (text,))
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise IPMathError('%r is not a valid IP address' % (text,))
    if version is not None and address.version != version:
        raise IPMathError('%r is an IPv%d address, IPv%d expected' % (text, address.version, version))
    return address


def parse_cidr(text, version=None, canonical=True):
    """Parse a CIDR ``a.b.c.d/n`` or ``x::/n``.

    With ``canonical`` (the Spiderpool webhook's rule) host bits must be zero and the text
    must be written exactly as the network prints itself (``fd00::/64``, not ``fd00:0::/64``).
    """
    _check_version(version)
    value = _clean(text, 'CIDR')
    if '/' not in value:
        raise IPMathError('%r is not a CIDR (no /prefix length)' % (text,))
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise IPMathError('%r is not a valid CIDR' % (text,))
    if version is not None and network.version != version:
        raise IPMathError('%r is an IPv%d CIDR, IPv%d expected' % (text, network.version, version))
    if canonical and str(network) != value:
        raise IPMathError('%r is not a canonical CIDR (expected %r)' % (text, str(network)))
    return network


def is_canonical_cidr(text, version=None):
    """True when ``text`` is a valid CIDR (of ``version``) written canonically."""
    try:
        parse_cidr(text, version=version, canonical=True)
    except IPMathError:
        return False
    return True


def ip_family(text):
    """Return 4 or 6 for an address, a ``start-end`` range, or a CIDR."""
    value = _clean(text, 'IP address, range or CIDR')
    if '/' in value:
        return parse_cidr(value, canonical=False).version
    return parse_entry(value)[2]


def parse_entry(text, version=None):
    """Parse one ``ips`` / ``excludeIPs`` entry into ``(first, last, version)`` integers.

    Entries are a single address or ``start-end`` with both ends in one family and
    ``start <= end``. CIDR entries are rejected, as Spiderpool rejects them.
    """
    _check_version(version)
    value = _clean(text, 'IP address or range')
    if '/' in value:
        raise IPMathError('%r is a CIDR; entries must be an address or a "start-end" range' % (text,))
    parts = value.split('-')
    if len(parts) == 1:
        address = parse_address(value, version)
        return int(address), int(address), address.version
    if len(parts) != 2:
        raise IPMathError('%r is not a valid IP range (expected "start-end")' % (text,))
    try:
        first = ipaddress.ip_address(parts[0])
        last = ipaddress.ip_address(parts[1])
    except ValueError:
        raise IPMathError('%r is not a valid IP range (expected "start-end" of two addresses)' % (text,))
    if first.version != last.version:
        raise IPMathError('%r mixes IPv4 and IPv6 addresses' % (text,))
    if version is not None and first.version != version:
        raise IPMathError('%r is an IPv%d range, IPv%d expected' % (text, first.version, version))
    if int(first) > int(last):
        raise IPMathError('%r is not a valid IP range (start is after end)' % (text,))
    return int(first), int(last), first.version


def merge_ranges(ranges):
    """Sort and merge overlapping or adjacent intervals."""
    merged = []
    for first, last in sorted((int(a), int(b)) for a, b in ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def parse_entries(entries, version=None):
    """Parse a list of entries (all of one family) into a merged interval list.

    Without ``version`` the family of the first entry fixes it for the rest.
    """
    _check_version(version)
    if entries is None:
        return []
    if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
        raise IPMathError('%r is not a list of IP addresses or ranges' % (entries,))
    intervals = []
    for entry in entries:
        first, last, family = parse_entry(entry, version)
        version = family
        intervals.append((first, last))
    return merge_ranges(intervals)


def subtract_ranges(ranges, removed):
    """``ranges`` minus ``removed``; both interval lists."""
    result = []
    removed = merge_ranges(removed)
    for first, last in merge_ranges(ranges):
        start = first
        for cut_first, cut_last in removed:
            if cut_last < start or cut_first > last:
                continue
            if cut_first > start:
                result.append((start, cut_first - 1))
            start = cut_last + 1
            if start > last:
                break
        if start <= last:
            result.append((start, last))
    return result


def intersect_ranges(left, right):
    """Addresses present in both interval lists."""
    result = []
    left, right = merge_ranges(left), merge_ranges(right)
    i = j = 0
    while i < len(left) and j < len(right):
        first = max(left[i][0], right[j][0])
        last = min(left[i][1], right[j][1])
        if first <= last:
            result.append((first, last))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def ranges_overlap(left, right):
    """True when the two interval lists share at least one address."""
    return bool(intersect_ranges(left, right))


def ranges_contain(outer, inner):
    """True when every address of ``inner`` is in ``outer``."""
    return not subtract_ranges(inner, outer)


def count_ranges(ranges):
    """Number of addresses in an interval list."""
    return sum(last - first + 1 for first, last in merge_ranges(ranges))


def effective_ranges(ips, exclude_ips=(), version=None):
    """The pool's usable addresses: ``ips`` minus ``excludeIPs``, as intervals."""
    included = parse_entries(ips or [], version)
    excluded = parse_entries(exclude_ips or [], version)
    return subtract_ranges(included, excluded)


def count_ips(ips, exclude_ips=(), version=None):
    """Number of usable addresses in ``ips`` minus ``excludeIPs``."""
    return count_ranges(effective_ranges(ips, exclude_ips, version))


def free_ip_count(ips, exclude_ips=(), allocated=(), version=None):
    """Usable addresses not yet allocated.

    ``allocated`` is an iterable of addresses or entries (for instance the keys of a pool's
    ``status.allocatedIPs``); allocated addresses outside the usable set are ignored.
    """
    usable = effective_ranges(ips, exclude_ips, version)
    taken = parse_entries(list(allocated or []), version) if allocated else []
    return count_ranges(subtract_ranges(usable, taken))


def cidr_range(cidr):
    """A CIDR (text or network object) as one interval ``(first, last)``."""
    network = cidr if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)) \
        else parse_cidr(cidr, canonical=False)
    return int(network.network_address), int(network.broadcast_address)


def cidrs_overlap(left, right):
    """True when two CIDRs of the same family share an address (different families never do)."""
    left_net = left if not isinstance(left, str) else parse_cidr(left, canonical=False)
    right_net = right if not isinstance(right, str) else parse_cidr(right, canonical=False)
    if left_net.version != right_net.version:
        return False
    return left_net.overlaps(right_net)


def entries_outside_cidr(entries, cidr):
    """The entries (as given) that are not entirely inside ``cidr``, in input order.

    Entries of the other family count as outside.
    """
    network = parse_cidr(cidr, canonical=False) if isinstance(cidr, str) else cidr
    first_net, last_net = cidr_range(network)
    outside = []
    for entry in entries or []:
        first, last, family = parse_entry(entry)
        if family != network.version or first < first_net or last > last_net:
            outside.append(entry)
    return outside


def address_in_ranges(address, ranges):
    """True when ``address`` (text, int or address object) lies in the interval list."""
    value = int(parse_address(address)) if isinstance(address, str) else int(address)
    return any(first <= value <= last for first, last in ranges)


def _address_text(value, version):
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


def format_ranges(ranges, version):
    """Interval list back to entries: ``"a"`` for one address, ``"a-b"`` for a range."""
    _check_version(version)
    if version is None:
        raise IPMathError('an IP version (4 or 6) is needed to format addresses')
    entries = []
    for first, last in merge_ranges(ranges):
        if first == last:
            entries.append(_address_text(first, version))
        else:
            entries.append('%s-%s' % (_address_text(first, version), _address_text(last, version)))
    return entries


def normalize_entries(entries, version=None):
    """Entries merged, sorted and written canonically (as Spiderpool stores them)."""
    if not entries:
        return []
    if version is None:
        version = parse_entry(entries[0])[2]
    return format_ranges(parse_entries(entries, version), version)
