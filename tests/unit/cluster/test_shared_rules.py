"""One rule per piece of shared knowledge: the former call sites of each rule now agree.

Interface names: multus_cr's ovs.bridge and ovs_bridge's name. Before the rule was shared,
multus_cr took "_br0" (a leading "_"), a bridge that ovs_bridge refuses to create.
Label names: vm_network's and the Spiderpool modules' labels. Free IPs: test_pool_usage.py.
"""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _multus as mc
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as pf
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_spec as vs
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import OvsSpecError, normalize_spec

NAMES = ['br0', 'br-vlan.30', 'a', 'A' * 15, '_br0', '-br0', '.br0', 'br 0', 'br/0', 'br0\n', 'A' * 16, 'bré', '']


def multus_accepts_bridge(name):
    problems = mc.validate({'name': 'net', 'namespace': 'kube-system', 'cni_type': 'ovs', 'ovs': {'bridge': name}}, mc.SMC_KIND)
    return not [p for p in problems if p.startswith('ovs.bridge:')]


def ovs_bridge_accepts(name):
    try:
        normalize_spec({'name': name})
    except OvsSpecError as err:
        return not [e for e in err.errors if e.startswith('name:')]
    return True


@pytest.mark.parametrize('name', NAMES)
def test_multus_cr_and_ovs_bridge_agree_on_bridge_names(name):
    assert multus_accepts_bridge(name) == ovs_bridge_accepts(name)


def test_a_leading_underscore_is_refused_by_both():
    assert not multus_accepts_bridge('_br0') and not ovs_bridge_accepts('_br0')
    assert multus_accepts_bridge('br_0') and ovs_bridge_accepts('br_0')


# Label names: vm_network's labels and spiderpool_ippool's labels (and the selector keys of a pool).
# The copy vm_network had once took "" as a label name; the API server refuses it.
LABEL_KEYS = ['app', 'example.com/app', 'a' * 63, 'a' * 64, '', '/app', 'example.com/', 'Example.com/app', '-app', 'app-',
              'a_b.c-d', 'app\n', 'x/y/z']


def vm_accepts_label(key):
    problems = vs.Problems()
    vs._check_labels(problems, 'labels', {key: 'v'})  # pylint: disable=protected-access
    return not problems


def pool_accepts_label(key):
    errors, _labels = sp.validate_metadata({'labels': {key: 'v'}})
    return not errors


def selector_accepts_key(key):
    return not sp._validate_label_key(key, 'node_affinity.match_labels', '')  # pylint: disable=protected-access


@pytest.mark.parametrize('key', LABEL_KEYS)
def test_vm_network_and_spiderpool_agree_on_label_names(key):
    assert vm_accepts_label(key) == pool_accepts_label(key) == selector_accepts_key(key)


def test_the_empty_label_name_is_refused_everywhere():
    assert not vm_accepts_label('') and not pool_accepts_label('') and not selector_accepts_key('')


# Allocated IPs of a pool: spiderpool_ippool's delete refusal and spiderpool_ippool_info's summary.
# They once read a pool whose status count disagrees with its records differently (count vs records).
def test_delete_refusal_and_info_summary_count_the_same_allocated_ips():
    pool = {'metadata': {'name': 'busy'}, 'spec': {'subnet': '10.6.0.0/24', 'ips': ['10.6.0.10-10.6.0.19']},
            'status': {'allocatedIPs': json.dumps({'10.6.0.10': {'pod': 'vms/a'}, '10.6.0.11': {'pod': 'vms/b'}}), 'allocatedIPCount': 5}}
    summary = sp.summarize(pool)
    assert summary['allocated_ip_count'] == 2 and summary['free_ip_count'] == 8
    assert 'still has 2 allocated IP(s)' in sp.delete_refusal(sp.POOL_KIND, pool, force=False)
    assert pf.pool_free_ips(pool) == summary['free_ip_count']
