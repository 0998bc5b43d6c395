"""The host roles' argument specs know every key the modules take, so an inventory typo is refused
before any node is touched, and the ovs_bridge role hands each entry to the module whole."""
import pathlib

import yaml

from ansible_collections.vmnet.kubevirt.plugins.modules import ovs_bridge

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / 'roles' / 'ovs_bridge'
SPEC_KEYS = ('type', 'elements', 'choices', 'default', 'required', 'mutually_exclusive', 'required_one_of')


def comparable(options):
    """An argument spec without its descriptions, options sorted: what a validator acts on."""
    result = {}
    for name, option in options.items():
        item = dict((key, option[key]) for key in SPEC_KEYS if option.get(key) not in (None, False))
        for key in ('mutually_exclusive', 'required_one_of'):
            if key in item:
                item[key] = sorted(sorted(group) for group in item[key])
        if option.get('options'):
            item['options'] = comparable(option['options'])
        result[name] = item
    return result


def role_spec():
    return yaml.safe_load((ROLE / 'meta' / 'argument_specs.yml').read_text())['argument_specs']


def test_every_entry_point_knows_every_option_of_the_module_with_its_type():
    module_spec = comparable(ovs_bridge.ARGUMENT_SPEC)
    for entry_point in ('main', 'fabric_check'):
        bridges = role_spec()[entry_point]['options']['vmnet_ovs_bridge_bridges']
        assert bridges['type'] == 'list' and bridges['elements'] == 'dict'
        assert comparable(bridges['options']) == module_spec, entry_point


def test_every_role_option_and_suboption_is_described():
    def undescribed(options, prefix=''):
        missing = []
        for name, option in options.items():
            if not option.get('description'):
                missing.append(prefix + name)
            missing += undescribed(option.get('options') or {}, prefix + name + '.')
        return missing

    for entry_point, spec in role_spec().items():
        assert undescribed(spec['options']) == [], entry_point


def test_the_role_passes_each_entry_whole_and_lists_no_option_by_hand():
    tasks = yaml.safe_load((ROLE / 'tasks' / 'main.yml').read_text())
    reconcile = next(task for task in tasks if 'vmnet.kubevirt.ovs_bridge' in task)
    assert reconcile['vmnet.kubevirt.ovs_bridge'] in ({}, None), 'no option is re-listed by hand'
    assert reconcile['module_defaults'] == {'vmnet.kubevirt.ovs_bridge': '{{ item }}'}
