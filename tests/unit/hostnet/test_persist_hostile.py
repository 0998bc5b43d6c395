"""No value reaches a shell, a systemd unit or a keyfile parser with a meaning of its own.

The ifupdown cases run the files through Debian's real Open vSwitch hook
(``/etc/network/if-pre-up.d/openvswitch``, from openvswitch-switch) the way ifupdown runs it at
boot: one ``IF_<OPTION>`` variable per stanza line, under ``/bin/sh``, with an ``ovs-vsctl`` on
PATH that only records its argv. The hook ``eval``s ``ovs_extra`` and word-splits
``ovs_options``/``ovs_ports``, so this is where a value would turn into a command.
"""
import json
import pathlib
import subprocess

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_persist import (
    PersistError, render_ifupdown, render_netplan, render_networkmanager)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import target_state
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec

OVS_HOOK = pathlib.Path('/etc/network/if-pre-up.d/openvswitch')
MAC = '00:16:3e:10:00:01'
ADDRESSES = [{'dev': 'eth1', 'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'family': 'inet'}]
ROUTES = [{'dst': 'default', 'gateway': '10.10.0.1', 'dev': 'eth1', 'flags': ['onlink']},
          {'dst': '172.16.0.0/16', 'gateway': '10.10.0.254', 'dev': 'eth1', 'metric': 50, 'flags': []}]


def good_state(**params):
    spec = normalize_spec(dict(dict(name='br0', datapath_type='netdev', uplink={
        'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, '100-101'], 'vlan_mode': 'trunk'}), **params))
    return target_state(None, spec, MAC)


def stanzas(text):
    """{iface name: {OPTION: value}} of an interfaces(5) text, as ifupdown hands them to hooks."""
    found, current = {}, None
    for line in text.splitlines():
        words = line.split(None, 1)
        if not words or words[0].startswith('#'):
            continue
        if words[0] == 'iface':
            current = found.setdefault(words[1].split()[0], {})
        elif line[:1].isspace() and current is not None:
            current['IF_' + words[0].upper().replace('-', '_')] = words[1] if len(words) > 1 else ''
        else:
            current = None
    return found


@pytest.fixture
def hook(tmp_path):
    """Run the real ifupdown OVS hook for one stanza; returns (argv lists it ran, sandbox dir)."""
    if not OVS_HOOK.exists():
        pytest.skip('%s (openvswitch-switch) is not installed' % OVS_HOOK)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    log = tmp_path / 'argv.log'
    recorder = '#!/usr/bin/python3\nimport json, sys\nopen(%r, "a").write(json.dumps(sys.argv[1:]) + "\\n")\n' % str(log)
    for tool in ('ovs-vsctl', 'ifup', 'ip', 'service', 'systemctl'):
        (bin_dir / tool).write_text(recorder if tool == 'ovs-vsctl' else '#!/bin/sh\nexit 1\n')
        (bin_dir / tool).chmod(0o755)

    def run(iface, variables):
        env = {'PATH': '%s:/usr/bin:/bin' % bin_dir, 'MODE': 'start', 'PHASE': 'pre-up', 'IFACE': iface,
               'LOGICAL': iface, 'ADDRFAM': 'inet', 'METHOD': 'static', 'HOME': str(tmp_path)}
        env.update(variables)
        subprocess.run(['/bin/sh', str(OVS_HOOK)], env=env, cwd=str(tmp_path), check=False, capture_output=True, timeout=30)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if log.exists():
            log.unlink()
        return [call for call in calls if '--version' not in call]

    return run, tmp_path


def test_a_mac_payload_never_runs_at_boot(hook):
    # The reported attack: other_config.hwaddr with a command substitution in it. The
    # validator refuses it; here it is forced past the validator into the rendering itself.
    run, sandbox = hook
    marker = sandbox / 'owned'
    state = good_state()
    state['other_config']['hwaddr'] = '%s$(touch %s)' % (MAC, marker)
    try:
        text = render_ifupdown('br0', state, 'eth1', ADDRESSES, ROUTES)
    except PersistError as error:
        assert 'other_config' in str(error) and 'hwaddr' in str(error)
        return
    for iface, variables in stanzas(text).items():
        run(iface, variables)
    assert not marker.exists(), 'the boot-time hook ran the payload:\n' + text


@pytest.mark.parametrize('field, value', [
    ('hwaddr', '%s`touch owned`' % MAC), ('hwaddr', MAC + '\n    up touch owned'), ('hwaddr', "%s';touch owned;'" % MAC),
    ('datapath_type', 'netdev$(touch owned)'), ('fail_mode', 'secure\nup touch owned'), ('port_tag', '5;touch owned'),
    ('port_name', 'eth1 $(touch owned)'), ('vlan_mode', 'trunk;touch owned'), ('trunks', ['1;touch owned']),
    ('bond_mode', 'balance-slb`touch owned`'), ('route_table', '100;touch owned'), ('route_dst', '1.2.3.0/24\nup touch owned'),
    ('gateway', '10.10.0.1$(touch owned)'), ('address', '10.10.0.11 $(touch owned)'), ('external_id', 'x$(touch owned)'),
])
def test_every_renderer_refuses_a_value_it_cannot_write_safely(field, value):
    """Defence in depth: a state that got past the validator (or came from the host) is refused
    by every renderer, naming what it refused, instead of being written."""
    state, addresses, routes, uplink = good_state(), json.loads(json.dumps(ADDRESSES)), json.loads(json.dumps(ROUTES)), 'eth1'
    port = state['ports']['eth1']
    if field == 'hwaddr':
        state['other_config']['hwaddr'] = value
    elif field in ('datapath_type', 'fail_mode'):
        state[field] = value
    elif field == 'port_tag':
        port['tag'] = value
    elif field == 'port_name':
        state['ports'][value] = state['ports'].pop('eth1')
        state['ports'][value]['interfaces'] = {value: {'type': '', 'peer': None}}
        uplink = value
    elif field == 'vlan_mode':
        port['vlan_mode'] = value
    elif field == 'trunks':
        port['trunks'] = value
    elif field == 'bond_mode':
        port['interfaces'] = {'eth2': {'type': '', 'peer': None}, 'eth3': {'type': '', 'peer': None}}
        port['bond_mode'] = value
    elif field == 'route_table':
        routes[1]['table'] = value
    elif field == 'route_dst':
        routes[1]['dst'] = value
    elif field == 'gateway':
        routes[0]['gateway'] = value
    elif field == 'address':
        addresses[0]['local'] = value
    elif field == 'external_id':
        state['external_ids']['owner'] = value
    shown = value[0] if isinstance(value, list) else value
    refused = []
    for label, render in (('ifupdown', render_ifupdown), ('netplan', render_netplan), ('networkmanager', render_networkmanager)):
        try:
            written = render('br0', state, uplink, addresses, routes)
        except PersistError as error:
            assert repr(shown) in str(error), (label, str(error))
            refused.append(label)
            continue
        # A renderer that does not write this field must not have written the value either.
        assert 'touch owned' not in json.dumps(written), (label, written)
    assert refused, 'no renderer writes %s' % field


def test_the_hook_runs_exactly_the_tokens_of_a_good_rendering(hook):
    run, _sandbox = hook
    text = render_ifupdown('br0', good_state(), 'eth1', ADDRESSES, ROUTES)
    assert 'ovs_extra' not in text, 'values never go through the eval of ovs_extra'
    found = stanzas(text)
    assert run('br0', found['br0']) == [
        ['--timeout=5', '--', '--may-exist', 'add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'datapath_type=netdev',
         'other-config:hwaddr=%s' % MAC, '--']]
    assert run('eth1', found['eth1']) == [
        ['--timeout=5', '--', '--may-exist', 'add-port', 'br0', 'eth1', 'trunks=0,100,101', 'vlan_mode=trunk', '--']]


def test_netplan_keys_that_yaml_would_read_as_something_else_are_quoted():
    state = good_state(name='null', uplink={'interface': 'yes', 'allow_default_route': True})
    text = render_netplan('null', state, 'yes', ADDRESSES, ROUTES)
    assert '    "yes":' in text and '    "null":' in text and '"interfaces": ["yes"]' not in text
    assert '      interfaces: ["yes"]' in text
