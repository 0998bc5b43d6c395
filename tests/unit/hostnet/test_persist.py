"""Persistence renderings: exact ifupdown text, and netplan / NetworkManager files checked by the
real tools (netplan's generator and ``nmcli --offline`` from Debian's own packages)."""
import configparser
import os
import pathlib
import shutil
import subprocess

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_persist import (
    PersistError, choose_persist, disable_ifupdown_stanzas, persist_facts, persistence_files, render_ifupdown, render_netplan,
    render_networkmanager, restore_ifupdown_stanzas)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import target_state
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec

ROOT = pathlib.Path(__file__).resolve().parents[3]
TOOLS = ROOT / '.cache' / 'hostnet-tools'
MAC = '00:16:3e:10:00:01'
ADDRESSES = [{'dev': 'eth1', 'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'family': 'inet'},
             {'dev': 'eth1', 'local': '10.10.0.111', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'family': 'inet'},
             {'dev': 'eth1', 'local': 'fd00::11', 'prefixlen': 64, 'family': 'inet6'}]
ROUTES = [{'dst': 'default', 'gateway': '10.10.0.1', 'dev': 'eth1', 'flags': ['onlink']},
          {'dst': '172.16.0.0/16', 'gateway': '10.10.0.254', 'dev': 'eth1', 'metric': 50, 'protocol': 'static', 'flags': []},
          {'dst': 'default', 'gateway': 'fd00::1', 'dev': 'eth1', 'metric': 1024, 'flags': []}]


def state_for(uplink=None, **params):
    spec = normalize_spec(dict(params, name='br0', datapath_type='netdev', uplink=uplink or {
        'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, '100-101'], 'vlan_mode': 'trunk'}))
    return target_state(None, spec, MAC)


def test_ifupdown_rendering():
    text = render_ifupdown('br0', state_for(), 'eth1', ADDRESSES, ROUTES)
    assert text == '\n'.join([
        '# Managed by vmnet.kubevirt.ovs_bridge: changes here are overwritten.',
        'allow-ovs br0',
        'iface br0 inet static',
        '    address 10.10.0.11/24',
        '    up ip address add 10.10.0.111/24 dev ${IFACE}',
        '    gateway 10.10.0.1',
        '    up ip route replace 172.16.0.0/16 via 10.10.0.254 dev ${IFACE} metric 50',
        '    ovs_type OVSBridge',
        '    ovs_ports eth1',
        '    ovs_options -- set Bridge br0 datapath_type=netdev other-config:hwaddr=%s' % MAC,
        '',
        'iface br0 inet6 static',
        '    address fd00::11/64',
        '    up ip route replace default via fd00::1 dev ${IFACE} metric 1024',
        '',
        'allow-br0 eth1',
        'iface eth1 inet manual',
        '    ovs_bridge br0',
        '    ovs_type OVSPort',
        '    ovs_options trunks=0,100,101 vlan_mode=trunk',
        ''])


def test_ifupdown_bond_rendering():
    state = state_for(uplink={'bond': {'name': 'bond0', 'interfaces': ['eth2', 'eth3'], 'mode': 'balance-tcp', 'lacp': 'active'}})
    text = render_ifupdown('br0', state, 'bond0', [], [])
    assert 'iface br0 inet manual\n    ovs_type OVSBridge\n    ovs_ports bond0\n' in text
    assert 'allow-br0 bond0\niface bond0 inet manual\n    ovs_bridge br0\n    ovs_type OVSBond\n    ovs_bonds eth2 eth3\n' in text
    assert '    ovs_options bond_mode=balance-tcp lacp=active\n' in text


MAIN = '''# interfaces(5)
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth1 eth2
allow-hotplug eth1
iface eth1 inet static
    address 10.10.0.11/24
    gateway 10.10.0.1

iface eth1 inet6 auto

iface eth2 inet dhcp
'''


def test_disable_ifupdown_stanzas_comments_out_only_the_uplink():
    marker = '# vmnet.kubevirt: moved to OVS bridge br0: '
    text = disable_ifupdown_stanzas(MAIN, ['eth1'], 'br0')
    assert text == '\n'.join([
        '# interfaces(5)', 'source /etc/network/interfaces.d/*', '', 'auto lo', 'iface lo inet loopback', '',
        marker + 'auto eth1 eth2', 'auto eth2', marker + 'allow-hotplug eth1',
        marker + 'iface eth1 inet static', marker + '    address 10.10.0.11/24', marker + '    gateway 10.10.0.1', '',
        marker + 'iface eth1 inet6 auto', '', 'iface eth2 inet dhcp', ''])
    assert disable_ifupdown_stanzas(text, ['eth1'], 'br0') == text, 'idempotent'


def test_restore_ifupdown_stanzas_undoes_the_disabling():
    disabled = disable_ifupdown_stanzas(MAIN, ['eth1'], 'br0')
    restored = restore_ifupdown_stanzas(disabled, 'br0')
    assert 'iface eth1 inet static\n    address 10.10.0.11/24\n    gateway 10.10.0.1\n' in restored
    assert 'vmnet.kubevirt' not in restored
    assert restore_ifupdown_stanzas(MAIN, 'br0') == MAIN
    assert restore_ifupdown_stanzas(disabled, 'br9') == disabled


def test_disable_ifupdown_stanzas_adds_the_source_line_when_missing():
    text = disable_ifupdown_stanzas('auto lo\niface lo inet loopback\n', ['eth1'], 'br0')
    assert text.endswith('source /etc/network/interfaces.d/vmnet-*\n')


def test_persistence_files_for_ifupdown_touch_the_main_file_once():
    files = persistence_files('ifupdown', 'br0', state_for(), 'eth1', ADDRESSES, ROUTES, MAIN)
    assert [item['path'] for item in files] == ['/etc/network/interfaces.d/vmnet-br0', '/etc/network/interfaces']
    again = persistence_files('ifupdown', 'br0', state_for(), 'eth1', ADDRESSES, ROUTES, files[1]['content'])
    assert [item['path'] for item in again] == ['/etc/network/interfaces.d/vmnet-br0']
    assert persistence_files('none', 'br0', state_for(), 'eth1', ADDRESSES, ROUTES) == []


def node_with(*present):
    """persist_facts of a node on which exactly the paths in ``present`` exist (patterns as given)."""
    return persist_facts(lambda patterns: any(pattern in present for pattern in patterns))


NETPLAN_NODE = ('/usr/sbin/netplan', '/etc/netplan', '/etc/netplan/*.yaml')
NM_NODE = ('/usr/bin/nmcli', '/run/NetworkManager')
IFUPDOWN_NODE = ('/sbin/ifup', '/etc/network/interfaces', '/etc/network/if-pre-up.d/openvswitch')


@pytest.mark.parametrize('present, expected', [
    (NETPLAN_NODE + NM_NODE + IFUPDOWN_NODE, 'netplan'),
    (NM_NODE + IFUPDOWN_NODE, 'networkmanager'),
    (IFUPDOWN_NODE, 'ifupdown'),
    # netplan configured but its command gone: auto falls back to what works.
    (('/etc/netplan', '/etc/netplan/*.yaml') + IFUPDOWN_NODE, 'ifupdown'),
])
def test_auto_picks_what_the_host_uses_and_can_run(present, expected):
    assert choose_persist('auto', node_with(*present)) == expected


@pytest.mark.parametrize('requested, present, missing', [
    ('netplan', IFUPDOWN_NODE, 'persist: netplan cannot be used on this node: it lacks the netplan command, '
                               'the /etc/netplan directory'),
    ('netplan', ('/etc/netplan',), 'persist: netplan cannot be used on this node: it lacks the netplan command'),
    ('networkmanager', IFUPDOWN_NODE, 'persist: networkmanager cannot be used on this node: it lacks nmcli, '
                                      'a running NetworkManager (/run/NetworkManager)'),
    ('networkmanager', ('/usr/bin/nmcli',), 'it lacks a running NetworkManager (/run/NetworkManager)'),
    ('ifupdown', NETPLAN_NODE, 'persist: ifupdown cannot be used on this node: it lacks ifup (ifupdown), /etc/network/interfaces'),
    ('ifupdown', ('/sbin/ifup', '/etc/network/interfaces'),
     "it lacks Open vSwitch's ifupdown hook /etc/network/if-pre-up.d/openvswitch (package openvswitch-switch)"),
])
def test_an_explicit_method_the_node_cannot_run_is_refused_naming_what_is_missing(requested, present, missing):
    with pytest.raises(PersistError) as caught:
        choose_persist(requested, node_with(*present))
    assert missing in str(caught.value)
    assert 'persist: auto' in str(caught.value), 'the message names the way out'


def test_an_explicit_method_the_node_can_run_is_used_even_when_another_is_in_use():
    assert choose_persist('netplan', node_with(*(IFUPDOWN_NODE + ('/usr/sbin/netplan', '/etc/netplan')))) == 'netplan'
    assert choose_persist('ifupdown', node_with(*(NETPLAN_NODE + IFUPDOWN_NODE))) == 'ifupdown'


def test_the_ovs_hook_comes_with_open_vswitch_so_a_node_without_it_yet_is_not_refused():
    # Check mode before the ovs role has installed Open vSwitch: the package brings the hook.
    facts = persist_facts(lambda patterns: any(p in ('/sbin/ifup', '/etc/network/interfaces') for p in patterns), ovs_installed=False)
    assert choose_persist('ifupdown', facts) == 'ifupdown' and choose_persist('auto', facts) == 'ifupdown'


def test_auto_without_any_usable_system_refuses_naming_what_each_lacks():
    with pytest.raises(PersistError) as caught:
        choose_persist('auto', node_with('/etc/netplan', '/etc/netplan/*.yaml', '/run/NetworkManager'))
    message = str(caught.value)
    assert message.startswith('persist: auto found no netplan, NetworkManager or ifupdown this node can run')
    assert 'netplan lacks the netplan command' in message and 'networkmanager lacks nmcli' in message
    assert 'ifupdown is not in use' in message and 'persist: none' in message


# ------------------------------------------------------------------ the real tools

def _fetch_tools():
    """netplan's generator and nmcli from Debian's packages, unpacked under .cache (no install)."""
    marker = TOOLS / 'ready'
    if marker.exists():
        return TOOLS / 'root'
    if not shutil.which('apt-get') or not shutil.which('dpkg-deb'):
        return None
    downloads = TOOLS / 'debs'
    downloads.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(['apt-get', 'download', 'netplan.io', 'libnetplan0', 'network-manager', 'libnm0'],
                             cwd=downloads, capture_output=True, text=True, check=False, timeout=300)
    if fetched.returncode != 0:
        return None
    for deb in sorted(downloads.glob('*.deb')):
        subprocess.run(['dpkg-deb', '-x', str(deb), str(TOOLS / 'root')], check=True)
    marker.write_text('ok\n')
    return TOOLS / 'root'


@pytest.fixture(scope='module')
def tools():
    root = _fetch_tools()
    if root is None:
        pytest.skip("netplan.io / network-manager packages could not be fetched with apt-get download")
    env = dict(os.environ, LD_LIBRARY_PATH=':'.join(str(path) for path in (root / 'usr' / 'lib').glob('*-linux-gnu')))
    return root, env


def test_netplan_generate_accepts_the_rendering(tools, tmp_path):
    root, env = tools
    target = tmp_path / 'etc' / 'netplan' / '60-vmnet-br0.yaml'
    target.parent.mkdir(parents=True)
    target.write_text(render_netplan('br0', state_for(fail_mode='standalone', external_ids={'owner': 'ops'}), 'eth1', ADDRESSES, ROUTES))
    target.chmod(0o600)
    generated = subprocess.run([str(root / 'usr' / 'libexec' / 'netplan' / 'generate'), '--root-dir', str(tmp_path)],
                               env=env, capture_output=True, text=True, check=False)
    assert generated.returncode == 0, generated.stderr
    network = (tmp_path / 'run' / 'systemd' / 'network' / '10-netplan-br0.network').read_text()
    for line in ('MACAddress=%s' % MAC, 'Address=10.10.0.11/24', 'Address=10.10.0.111/24', 'Address=fd00::11/64',
                 'Destination=0.0.0.0/0\nGateway=10.10.0.1\nGatewayOnLink=true',
                 'Destination=172.16.0.0/16\nGateway=10.10.0.254\nMetric=50', 'Destination=::/0\nGateway=fd00::1\nMetric=1024'):
        assert line in network
    service = (tmp_path / 'run' / 'systemd' / 'system' / 'netplan-ovs-br0.service').read_text()
    assert 'ovs-vsctl --may-exist add-port br0 eth1' in service
    assert 'set-fail-mode br0 standalone' in service and 'external-ids:owner=ops' in service
    assert (tmp_path / 'run' / 'systemd' / 'network' / '10-netplan-eth1.network').exists()


def test_netplan_generate_rejects_a_broken_file(tools, tmp_path):
    # The check can fail: a mis-indented file like the upstream snippet is refused.
    root, env = tools
    target = tmp_path / 'etc' / 'netplan' / '60-bad.yaml'
    target.parent.mkdir(parents=True)
    target.write_text('network:\n  version: 2\n  bridges:\n    br0:\n    addresses: [10.0.0.1/24]\n')
    generated = subprocess.run([str(root / 'usr' / 'libexec' / 'netplan' / 'generate'), '--root-dir', str(tmp_path)],
                               env=env, capture_output=True, text=True, check=False)
    assert generated.returncode != 0


def _nm_normalize(root, env, text):
    """NetworkManager's own reading of a keyfile, written back (fails on what NM rejects)."""
    proc = subprocess.run([str(root / 'usr' / 'bin' / 'nmcli'), '--offline', 'connection', 'modify', 'connection.autoconnect', 'yes'],
                          input=text, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(proc.stdout)
    return parser


def test_networkmanager_accepts_the_keyfiles(tools):
    root, env = tools
    state = state_for(fail_mode='secure')
    files = render_networkmanager('br0', state, 'eth1', ADDRESSES, ROUTES)
    assert sorted(files) == ['vmnet-br0-eth1.nmconnection', 'vmnet-br0-if.nmconnection', 'vmnet-br0-port-eth1.nmconnection',
                             'vmnet-br0-port-int.nmconnection', 'vmnet-br0.nmconnection']
    seen = dict((name, _nm_normalize(root, env, text)) for name, text in files.items())
    assert seen['vmnet-br0.nmconnection']['connection']['type'] == 'ovs-bridge'
    assert seen['vmnet-br0.nmconnection']['ovs-bridge']['fail-mode'] == 'secure'
    interface = seen['vmnet-br0-if.nmconnection']
    assert interface['connection']['type'] == 'ovs-interface' and interface['connection']['master'] == 'vmnet-br0-port-int'
    assert interface['ipv4']['address1'] == '10.10.0.11/24,10.10.0.1'
    assert interface['ipv4']['address2'] == '10.10.0.111/24'
    assert interface['ipv4']['route1'] == '172.16.0.0/16,10.10.0.254,50'
    assert interface['ipv6']['address1'] == 'fd00::11/64,fd00::1'
    assert interface['ethernet']['cloned-mac-address'].lower() == MAC
    port = seen['vmnet-br0-port-eth1.nmconnection']
    assert port['ovs-port']['trunks'] == '0,100,101' and port['ovs-port']['vlan-mode'] == 'trunk'
    assert port['connection']['master'] == 'br0' and port['connection']['slave-type'] == 'ovs-bridge'
    nic = seen['vmnet-br0-eth1.nmconnection']
    assert nic['connection']['type'] == 'ethernet' and nic['connection']['master'] == 'vmnet-br0-port-eth1'


def test_networkmanager_rejects_a_broken_keyfile(tools):
    root, env = tools
    proc = subprocess.run([str(root / 'usr' / 'bin' / 'nmcli'), '--offline', 'connection', 'modify', 'connection.autoconnect', 'yes'],
                          input='[connection]\nid=x\ntype=ovs-port\n[ovs-port]\nvlan-mode=sideways\n', env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0
