"""The one problem form, used by every family: field, the value as JSON, the rule."""
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_validate, _vm_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import Problems, nothing_written, problem, run_module


def test_problem_shows_the_value_as_json_without_unset_suboptions():
    assert problem('uplink', {'interface': 'eth:1', 'bond': None}, 'is wrong') == 'uplink: {"interface": "eth:1"} is wrong'
    assert problem('ports[0].peer', None, 'is required') == 'ports[0].peer: null is required'


def test_a_value_json_cannot_sort_or_hold_still_reaches_the_message():
    # YAML gives mixed key types ({1: a, b: c}); sorting them used to raise TypeError mid-validation.
    assert problem('labels', {1: 'a', 'b': 'c'}, 'is wrong') == 'labels: {"1": "a", "b": "c"} is wrong'
    assert problem('name', b'br0', 'must be a string') == 'name: "b\'br0\'" must be a string'


def test_one_collector_for_every_family():
    assert _vm_spec.Problems is Problems
    found = Problems()
    assert not found and len(found) == 0
    found.add('vlan', 'ten', 'must be a VLAN id')
    assert found and found.items == ['vlan: "ten" must be a VLAN id']
    assert nothing_written(found.items)['msg'] == '1 problem(s), nothing was written: vlan: "ten" must be a VLAN id'


def test_host_and_cluster_rules_write_the_same_form():
    host = _ovs_validate.fabric_port_problems({'bridge': 'br0', 'name': 'vt0', 'vlan': 'ten', 'count': 1, 'wait': 1,
                                               'cidr': '198.18.250.0/24', 'host_index': 1, 'peers': {}})
    assert host == [problem('vlan', 'ten', 'must be a VLAN id from 1 to 4094')]


def no_host():
    raise AssertionError('the host was touched although the input is invalid')


def test_host_runners_refuse_input_like_the_cluster_ones():
    from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_bridge_run, _ovs_host_run
    refusals = [
        _ovs_bridge_run.run({'name': 'br/0'}, no_host),
        _ovs_host_run.fabric_port({'bridge': 'br0', 'name': 'vt0', 'vlan': 0, 'count': 1, 'wait': 1,
                                   'cidr': '198.18.250.0/24', 'host_index': 1, 'peers': {}}, no_host),
        _ovs_host_run.host_info({'rhel_package': 'openvswitch3.3', 'extra_packages': [], 'networkmanager': 'sometimes'}, no_host),
        _ovs_host_run.bridge_info({'name': 'br 0'}, no_host),
        _ovs_host_run.confirm({'token': 'abc'}, no_host),
    ]
    for result in refusals:
        assert result['failed'] is True and result['changed'] is False, result
        assert len(result['problems']) == 1, result
        assert result['msg'] == '1 problem(s), nothing was written: ' + result['problems'][0]
    assert [result['problems'][0].split(' ')[:2] for result in refusals] == [
        ['name:', '"br/0"'], ['vlan:', '0'], ['networkmanager:', '"sometimes"'], ['name:', '"br'], ['token:', '"abc"']]


class FakeModule:
    def __init__(self, check_mode, diff):
        self.params, self.check_mode, self._diff, self.ended, self.warnings = {'name': 'x'}, check_mode, diff, None, []

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        self.ended = ('exit', result)
        raise SystemExit(0)

    def fail_json(self, **result):
        self.ended = ('fail', result)
        raise SystemExit(1)


def test_run_module_hands_params_factory_modes_and_extras_to_the_runner_then_finishes():
    seen = []

    def runner(params, factory, check_mode, diff, kind=None):
        seen.append((params, factory, check_mode, diff, kind))
        return {'changed': False, 'warnings': ['w'], 'failed': check_mode, 'msg': 'm'}

    for check_mode, diff, ending in ((False, True, 'exit'), (True, False, 'fail')):
        module = FakeModule(check_mode, diff)
        try:
            run_module(module, runner, no_host, kind='SpiderSubnet')
        except SystemExit:
            pass
        assert seen[-1] == ({'name': 'x'}, no_host, check_mode, diff, 'SpiderSubnet')
        assert module.ended[0] == ending and module.warnings == ['w'] and module.ended[1]['msg'] == 'm'
        assert 'warnings' not in module.ended[1]


def test_run_module_builds_a_cluster_seam_from_the_options_only_when_the_runner_asks():
    connected = []

    def connect(params, check_mode=False):
        connected.append((params, check_mode))
        return 'api'

    def runner(params, factory, check_mode, diff):
        return {'changed': False, 'api': factory() if params['name'] == 'x' else None}

    module = FakeModule(True, False)
    try:
        run_module(module, runner, connect=connect)
    except SystemExit:
        pass
    assert connected == [({'name': 'x'}, True)] and module.ended == ('exit', {'changed': False, 'api': 'api'})
