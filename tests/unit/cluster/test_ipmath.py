"""Unit tests for plugins/module_utils/_ipmath.py (pure IP/CIDR/range arithmetic)."""
import ipaddress

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ipmath as ipm


def v4(text):
    return int(ipaddress.IPv4Address(text))


@pytest.mark.parametrize('text,family', [
    ('10.0.0.1', 4), ('10.0.0.1-10.0.0.9', 4), ('10.0.0.0/24', 4),
    ('fd00::1', 6), ('fd00::1-fd00::ff', 6), ('fd00::/64', 6),
])
def test_ip_family(text, family):
    assert ipm.ip_family(text) == family


@pytest.mark.parametrize('text', ['', ' 10.0.0.1', 'banana', '10.0.0.300', 'fd00::1-10.0.0.1', 12])
def test_ip_family_rejects_garbage(text):
    with pytest.raises(ipm.IPMathError):
        ipm.ip_family(text)


def test_parse_cidr_canonical_rules():
    assert str(ipm.parse_cidr('10.6.0.0/16')) == '10.6.0.0/16'
    with pytest.raises(ipm.IPMathError, match="not a canonical CIDR .*'10.6.0.0/16'"):
        ipm.parse_cidr('10.6.0.1/16')
    with pytest.raises(ipm.IPMathError, match='not a canonical CIDR'):
        ipm.parse_cidr('fd00:0::/64')
    assert str(ipm.parse_cidr('10.6.0.1/16', canonical=False)) == '10.6.0.0/16'
    with pytest.raises(ipm.IPMathError, match='IPv6 CIDR, IPv4 expected'):
        ipm.parse_cidr('fd00::/64', version=4)
    with pytest.raises(ipm.IPMathError, match='no /prefix'):
        ipm.parse_cidr('10.0.0.0')
    with pytest.raises(ipm.IPMathError, match='not a valid CIDR'):
        ipm.parse_cidr('10.0.0.0/33')
    assert ipm.is_canonical_cidr('fd00::/64', 6)
    assert not ipm.is_canonical_cidr('fd00::/64', 4)


def test_parse_entry_forms_and_rules():
    assert ipm.parse_entry('10.0.0.5') == (v4('10.0.0.5'), v4('10.0.0.5'), 4)
    assert ipm.parse_entry('10.0.0.5-10.0.0.9') == (v4('10.0.0.5'), v4('10.0.0.9'), 4)
    with pytest.raises(ipm.IPMathError, match='is a CIDR'):
        ipm.parse_entry('10.0.0.0/24')
    with pytest.raises(ipm.IPMathError, match='start is after end'):
        ipm.parse_entry('10.0.0.9-10.0.0.5')
    with pytest.raises(ipm.IPMathError, match='mixes IPv4 and IPv6'):
        ipm.parse_entry('10.0.0.1-fd00::1')
    with pytest.raises(ipm.IPMathError, match='IPv4 range, IPv6 expected'):
        ipm.parse_entry('10.0.0.1-10.0.0.2', version=6)
    with pytest.raises(ipm.IPMathError, match='expected "start-end"'):
        ipm.parse_entry('10.0.0.1-10.0.0.2-10.0.0.3')


def test_parse_entries_fixes_family_from_first_entry():
    with pytest.raises(ipm.IPMathError, match='IPv6 address, IPv4 expected'):
        ipm.parse_entries(['10.0.0.1', 'fd00::1'])
    with pytest.raises(ipm.IPMathError, match='not a list'):
        ipm.parse_entries('10.0.0.1')
    assert ipm.parse_entries(None) == []


def test_merge_subtract_intersect():
    assert ipm.merge_ranges([(5, 9), (1, 3), (4, 4), (20, 30), (25, 26)]) == [(1, 9), (20, 30)]
    assert ipm.subtract_ranges([(1, 10)], [(3, 4), (8, 20)]) == [(1, 2), (5, 7)]
    assert ipm.subtract_ranges([(1, 10)], [(0, 100)]) == []
    assert ipm.subtract_ranges([(1, 3), (7, 9)], []) == [(1, 3), (7, 9)]
    assert ipm.intersect_ranges([(1, 5), (10, 15)], [(4, 11)]) == [(4, 5), (10, 11)]
    assert ipm.ranges_overlap([(1, 5)], [(5, 6)])
    assert not ipm.ranges_overlap([(1, 5)], [(6, 7)])
    assert ipm.ranges_contain([(1, 10)], [(2, 3), (9, 10)])
    assert not ipm.ranges_contain([(1, 10)], [(2, 3), (9, 11)])
    assert ipm.ranges_contain([(1, 10)], [])


def test_counts_and_free_ips():
    ips = ['10.6.0.10-10.6.0.19', '10.6.0.30']
    assert ipm.count_ips(ips) == 11
    assert ipm.count_ips(ips, ['10.6.0.15-10.6.0.40']) == 5
    assert ipm.count_ips(['fd00::-fd00::ffff:ffff']) == 2 ** 32
    assert ipm.free_ip_count(ips, ['10.6.0.19'], allocated=['10.6.0.10', '10.6.0.11', '10.9.9.9']) == 8
    assert ipm.free_ip_count(ips, allocated=['10.6.0.10-10.6.0.19']) == 1
    assert ipm.free_ip_count(ips, allocated=None) == 11


def test_cidr_helpers():
    assert ipm.cidr_range('10.0.0.0/30') == (v4('10.0.0.0'), v4('10.0.0.3'))
    assert ipm.cidrs_overlap('10.0.0.0/16', '10.0.5.0/24')
    assert not ipm.cidrs_overlap('10.0.0.0/24', '10.0.1.0/24')
    assert not ipm.cidrs_overlap('10.0.0.0/8', 'fd00::/8')
    assert ipm.entries_outside_cidr(['10.0.0.1', '10.0.0.250-10.0.1.2', 'fd00::1'], '10.0.0.0/24') == \
        ['10.0.0.250-10.0.1.2', 'fd00::1']
    ranges = ipm.parse_entries(['10.0.0.5-10.0.0.9'])
    assert ipm.address_in_ranges('10.0.0.9', ranges)
    assert not ipm.address_in_ranges('10.0.0.10', ranges)


def test_format_and_normalize():
    assert ipm.normalize_entries(['10.0.0.9', '10.0.0.1-10.0.0.8', '10.0.0.20']) == ['10.0.0.1-10.0.0.9', '10.0.0.20']
    assert ipm.normalize_entries(['fd00:0::1-fd00::3']) == ['fd00::1-fd00::3']
    assert ipm.normalize_entries([]) == []
    with pytest.raises(ipm.IPMathError):
        ipm.format_ranges([(1, 2)], None)
