"""Pure readings behind ovs_host_info: distributions as Ansible names them, package databases, boot links."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_host
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_host_run as ovs_host_info
import fake_host

OS_RELEASES = {
    'debian12': ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
                 {'distribution': 'Debian', 'os_family': 'Debian', 'distribution_version': '12'}),
    'ubuntu2404': ('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n',
                   {'distribution': 'Ubuntu', 'os_family': 'Debian', 'distribution_version': '24.04'}),
    'rhel9': ('NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\n',
              {'distribution': 'RedHat', 'os_family': 'RedHat', 'distribution_version': '9.4'}),
    'rocky9': ('NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n',
               {'distribution': 'Rocky', 'os_family': 'RedHat', 'distribution_version': '9.3'}),
    'fedora41': ('NAME="Fedora Linux"\nVERSION_ID=41\nID=fedora\n',
                 {'distribution': 'Fedora', 'os_family': 'RedHat', 'distribution_version': '41'}),
    'sles15': ('NAME="SLES"\nVERSION_ID="15.6"\nID="sles"\nID_LIKE="suse"\n',
               {'distribution': 'SLES', 'os_family': 'Suse', 'distribution_version': '15.6'}),
    'a_debian_derivative': ('NAME="Some Linux"\nID=somelinux\nID_LIKE="ubuntu debian"\nVERSION_ID=3\n',
                            {'distribution': 'Some Linux', 'os_family': 'Debian', 'distribution_version': '3'}),
    'gentoo': ('NAME=Gentoo\nID=gentoo\n', {'distribution': 'Gentoo', 'os_family': 'Gentoo', 'distribution_version': ''}),
}


@pytest.mark.parametrize('case', sorted(OS_RELEASES))
def test_distribution_as_ansible_names_it(case):
    text, expected = OS_RELEASES[case]
    assert _ovs_host.distribution_facts(_ovs_host.parse_os_release(text)) == expected


def test_os_release_quoting_and_noise():
    parsed = _ovs_host.parse_os_release('# comment\nNAME=\'My "Linux"\'\nPRETTY_NAME="A \\"quoted\\" \\$name"\n\nbroken line\nID=x\n')
    assert parsed == {'NAME': 'My "Linux"', 'PRETTY_NAME': 'A "quoted" $name', 'ID': 'x'}


def test_empty_os_release_is_an_unknown_family():
    assert _ovs_host.distribution_facts({}) == {'distribution': 'unknown', 'os_family': 'unknown', 'distribution_version': ''}


def test_dpkg_counts_only_installed_packages():
    output = ('openvswitch-switch\tii \t3.1.0-2+deb12u1\n'
              'network-manager\trc \t1.42.4-1\n'        # removed, config files left
              'tcpdump\thi \t4.99.3-1\n'                 # on hold, installed
              'openvswitch-common\tun \t\n')             # known, never installed
    assert _ovs_host.parse_dpkg_query(output) == {'openvswitch-switch': '3.1.0-2+deb12u1', 'tcpdump': '4.99.3-1'}


def test_rpm_not_installed_lines_are_skipped():
    output = 'openvswitch3.3\t3.3.0-49.el9fdp\npackage NetworkManager-ovs is not installed\n'
    assert _ovs_host.parse_rpm_query(output) == {'openvswitch3.3': '3.3.0-49.el9fdp'}


def test_sysv_start_link_means_enabled():
    assert _ovs_host.sysv_enabled('openvswitch-switch', ['README', 'K01openvswitch-switch', 'S01openvswitch-switch'])
    assert not _ovs_host.sysv_enabled('openvswitch-switch', ['K01openvswitch-switch'])
    # A longer name with the same prefix is another service.
    assert not _ovs_host.sysv_enabled('openvswitch', ['S01openvswitch-switch'])


def test_ovs_version_unquoted():
    assert _ovs_host.ovs_version('"3.1.0"\n') == '3.1.0'
    assert _ovs_host.ovs_version('') is None


@pytest.mark.parametrize('name', ['openvswitch-switch', 'NetworkManager-ovs', 'openvswitch3.3', 'libstdc++6', 'getty@tty1'])
def test_names_that_may_reach_a_command_line(name):
    assert _ovs_host.valid_package_name(name)


@pytest.mark.parametrize('name', ['-y', '--force-all', 'two words', '../etc/passwd', '', 'a' * 300, None, 'openvswitch-switch\n',
                                  'ovs;reboot', '$(id)', 'openvswitch\nfoo', 'ovsé', 7])
def test_names_refused_before_any_command(name):
    assert not _ovs_host.valid_package_name(name)


PLAN_CASES = {
    'debian': ({'os_family': 'Debian', 'distribution': 'Debian'}, False, {}, {
        'packages': ['openvswitch-switch'], 'service': 'openvswitch-switch', 'package_manager': 'apt', 'networkmanager': False}),
    'ubuntu_nm': ({'os_family': 'Debian', 'distribution': 'Ubuntu'}, True, {}, {
        'packages': ['openvswitch-switch'], 'service': 'openvswitch-switch', 'package_manager': 'apt', 'networkmanager': True}),
    'rhel_nm': ({'os_family': 'RedHat', 'distribution': 'RedHat'}, True, {}, {
        'packages': ['openvswitch', 'NetworkManager-ovs'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': True}),
    'rhel_fdp': ({'os_family': 'RedHat', 'distribution': 'Rocky'}, True, {'rhel_package': 'openvswitch3.3', 'networkmanager': 'false'}, {
        'packages': ['openvswitch3.3'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': False}),
    'fedora_no_nm': ({'os_family': 'RedHat', 'distribution': 'Fedora'}, False, {}, {
        'packages': ['openvswitch'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': False}),
    'fedora_forced_nm': ({'os_family': 'RedHat', 'distribution': 'Fedora'}, False, {'networkmanager': 'true', 'extra_packages': ['tcpdump']}, {
        'packages': ['openvswitch', 'NetworkManager-ovs', 'tcpdump'], 'service': 'openvswitch', 'package_manager': 'dnf',
        'networkmanager': True}),
    'sles': ({'os_family': 'Suse', 'distribution': 'SLES'}, False, {}, {
        'packages': ['openvswitch'], 'service': 'openvswitch', 'package_manager': 'zypper', 'networkmanager': False}),
}


@pytest.mark.parametrize('case', sorted(PLAN_CASES))
def test_package_and_service_choice(case):
    facts, nm_running, options, expected = PLAN_CASES[case]
    plan, problem = _ovs_host.choose_packages(facts, nm_running, **options)
    assert problem is None and plan == expected


def test_unknown_family_names_the_supported_ones():
    plan, problem = _ovs_host.choose_packages({'os_family': 'Gentoo', 'distribution': 'Gentoo'}, False)
    assert plan is None
    assert problem == 'os_family Gentoo (Gentoo) is not supported; supported families: Debian, RedHat, Fedora, Suse'


DEBIAN_PLAN = PLAN_CASES['debian'][3]


@pytest.mark.parametrize('installed, enabled, running, options, expected', [
    ({'openvswitch-switch': '3.1.0'}, True, True, {}, {'missing': [], 'start': False, 'needed': False}),
    ({}, None, False, {}, {'missing': ['openvswitch-switch'], 'start': True, 'needed': True}),
    ({'openvswitch-switch': '3.1.0'}, True, False, {}, {'missing': [], 'start': True, 'needed': True}),      # daemons down
    ({'openvswitch-switch': '3.1.0'}, False, True, {}, {'missing': [], 'start': True, 'needed': True}),      # not at boot
    ({'openvswitch-switch': '3.1.0'}, True, True, {'service_enabled': False}, {'missing': [], 'start': True, 'needed': True}),
    ({'openvswitch-switch': '3.1.0'}, None, True, {}, {'missing': [], 'start': True, 'needed': True}),       # boot state unknown
    ({}, True, True, {'install': False}, {'missing': ['openvswitch-switch'], 'start': False, 'needed': False}),
])
def test_work_left(installed, enabled, running, options, expected):
    assert _ovs_host.work_left(DEBIAN_PLAN, installed, enabled, running, **options) == expected


def params(**overrides):
    base = {'install': True, 'rhel_package': 'openvswitch', 'networkmanager': 'auto', 'extra_packages': [],
            'service_enabled': True, 'db_socket': '/var/run/openvswitch/db.sock'}
    base.update(overrides)
    return base


def test_module_names_the_field_the_value_and_the_rule():
    problems = ovs_host_info.input_problems(params(extra_packages=['tcpdump', '--force-all'], networkmanager='sometimes'))
    assert problems == ['extra_packages[1]: "--force-all" is not ' + ovs_host_info.PACKAGE_NAME_RULE,
                        'networkmanager: "sometimes" must be auto, true or false']
    assert ovs_host_info.input_problems(params(networkmanager=True, rhel_package='openvswitch3.3')) == []


class FakeHost(fake_host.FakeHost):
    """The HostIO reads ovs_host_info uses, answered from fixed data; its files are the case's os-release only."""

    def __init__(self, installed=None, manager='sysv', enabled=None, running=(True, True, '3.1.0'), os_release='debian12'):
        super(FakeHost, self).__init__(files={'/etc/os-release': OS_RELEASES[os_release][0]}, forbid_writes=True)
        self.installed = installed or {}
        self.manager = manager
        self.enabled = enabled or {}
        self.running = running
        self.asked = []

    def installed_packages(self, database, names):
        self.asked.append((database, tuple(names)))
        return dict((name, self.installed[name]) for name in names if name in self.installed)

    def service_manager(self):
        return self.manager

    def service_enabled(self, manager, service):
        return self.enabled.get(service) if manager != 'unknown' else None

    def ovs_running(self, _db_socket):
        return self.running


def test_converged_debian_node_has_nothing_left():
    host = FakeHost(installed={'openvswitch-switch': '3.1.0-2'}, enabled={'openvswitch-switch': True}, os_release='debian12')
    result = ovs_host_info.read_host(host, params())
    assert host.asked == [('dpkg', ('openvswitch-switch',))]
    assert result['packages'] == {'openvswitch-switch': '3.1.0-2'}
    assert result['service'] == {'name': 'openvswitch-switch', 'enabled': True}
    assert result['todo'] == {'missing': [], 'start': False, 'needed': False}
    assert result['ovs']['version'] == '3.1.0' and result['problem'] is None


def test_vswitchd_down_means_a_start():
    host = FakeHost(installed={'openvswitch-switch': '3.1.0-2'}, enabled={'openvswitch-switch': True}, running=(True, False, '3.1.0'), os_release='debian12')
    result = ovs_host_info.read_host(host, params())
    assert result['ovs'] == {'ovsdb': True, 'vswitchd': False, 'running': False, 'version': '3.1.0',
                             'db_socket': '/var/run/openvswitch/db.sock'}
    assert result['todo'] == {'missing': [], 'start': True, 'needed': True}


def test_fresh_rhel_node_with_the_fast_datapath_package():
    host = FakeHost(manager='systemd', running=(False, False, None), os_release='rocky9')
    result = ovs_host_info.read_host(host, params(rhel_package='openvswitch3.3', networkmanager=False))
    assert host.asked == [('rpm', ('openvswitch3.3',))]
    assert result['plan']['package_manager'] == 'dnf' and result['service'] == {'name': 'openvswitch', 'enabled': None}
    assert result['todo'] == {'missing': ['openvswitch3.3'], 'start': True, 'needed': True}


def test_unsupported_family_is_work_the_role_refuses():
    host = FakeHost(os_release='gentoo')
    result = ovs_host_info.read_host(host, params())
    assert result['plan'] is None and result['problem'].startswith('os_family Gentoo (Gentoo) is not supported')
    assert result['todo']['needed'] and result['packages'] == {} and host.asked == [(None, ())]
