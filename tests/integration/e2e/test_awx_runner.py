"""AWX / Automation Controller: the job templates' surveys and playbooks, run through ansible-runner.

ansible-runner is the engine AWX runs jobs with: a survey's answers reach the playbook as extra
variables, shaped as AWX shapes them (multiple choice: a string; multiselect: a list, or one
string per line from older versions and the CLI; integer: an int).
"""
import json
import os
import pathlib
import re

import pytest
import yaml

ansible_runner = pytest.importorskip('ansible_runner')

ROOT = pathlib.Path(__file__).resolve().parents[3]
AWX = ROOT / 'awx'
SURVEYS = sorted((AWX / 'surveys').glob('*.json'))
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}
CREATE_VM = 'awx/playbooks/create_vm_with_network.yml'


def load_survey(name):
    return json.loads((AWX / 'surveys' / name).read_text(encoding='utf-8'))


def sample_vars():
    merged = {}
    for path in sorted((ROOT / 'inventory' / 'sample' / 'group_vars').glob('*/*.yml')):
        merged.update(yaml.safe_load(path.read_text(encoding='utf-8')) or {})
    return merged


def survey_defaults(survey):
    """The extra vars AWX sends when every question keeps its default."""
    answers = {}
    for question in survey['spec']:
        default = question.get('default')
        if question['type'] == 'multiselect':
            answers[question['variable']] = [item for item in (default or '').split('\n') if item]
        elif default not in (None, ''):
            answers[question['variable']] = default
    return answers


@pytest.mark.parametrize('path', SURVEYS, ids=[path.name for path in SURVEYS])
def test_survey_specs_follow_the_controller_rules(path):
    survey = json.loads(path.read_text(encoding='utf-8'))
    assert survey['name'] and isinstance(survey['spec'], list) and survey['spec']
    variables = [question['variable'] for question in survey['spec']]
    assert len(variables) == len(set(variables)), 'duplicate survey variables'
    for question in survey['spec']:
        where = '%s: %s' % (path.name, question['variable'])
        assert re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', question['variable']), where
        assert question['type'] in SURVEY_TYPES, where
        assert question['question_name'], where
        if question['type'] == 'multiplechoice':
            assert question['default'] in question['choices'], where
        if question['type'] == 'multiselect':
            chosen = [item for item in (question.get('default') or '').split('\n') if item]
            assert set(chosen) <= set(question['choices']), where
        if question['type'] == 'integer':
            assert question['min'] <= question['default'] <= question['max'], where


def test_create_vm_survey_offers_what_the_sample_inventory_defines():
    survey = {question['variable']: question for question in load_survey('create_vm_with_network.json')['spec']}
    assert set(survey['vm_network_mode']['choices']) == {'masquerade', 'bridge'}
    assert set(survey['vm_nic1_use_default_ip_pool']['choices']) == {'Yes', 'No'}
    sample = sample_vars()
    crs = {'%s/%s' % (cr['namespace'], cr['name']) for cr in sample['vmnet_multus_crs']}
    pools = {pool['name'] for pool in sample['vmnet_ippools']}
    for index in (1, 2):
        assert set(survey['vm_nic%d_multus_cr' % index]['choices']) == crs
        assert set(survey['vm_nic%d_ip_pools' % index]['choices']) == pools


def test_every_survey_variable_is_used_by_its_playbook():
    for survey_name, playbook in (('create_vm_with_network.json', CREATE_VM), ('prepare_hosts.json', 'awx/playbooks/prepare_hosts.yml')):
        path = ROOT / playbook
        if not path.exists():
            pytest.fail('%s is missing (job template playbook for %s)' % (playbook, survey_name))
        text = path.read_text(encoding='utf-8')
        for question in load_survey(survey_name)['spec']:
            variable = question['variable']
            used = variable in text or ('vm_nic' in variable and "'vm_nic' ~ item ~ '_%s'" % variable.split('_', 2)[2] in text)
            assert used, '%s: survey variable %s is not used' % (playbook, variable)


def test_controller_configuration_names_the_playbooks_and_surveys():
    config = yaml.safe_load((AWX / 'controller_configuration.yml').read_text(encoding='utf-8'))
    templates = {template['name']: template for template in config['controller_templates']}
    assert len(templates) == 2
    for template in templates.values():
        assert (ROOT / template['playbook']).exists(), template['playbook']
        survey_file = re.search(r"/surveys/([a-z_]+\.json)", template['survey_spec']).group(1)
        assert (AWX / 'surveys' / survey_file).exists()
        assert template['survey_enabled'] is True


@pytest.fixture(autouse=True)
def venv_on_path(monkeypatch):
    """ansible-runner finds ansible-playbook on PATH, as in an execution environment."""
    monkeypatch.setenv('PATH', '%s:%s' % (ROOT / '.venv' / 'bin', os.environ.get('PATH', '')))


LOCALHOST_INVENTORY = 'localhost ansible_connection=local ansible_python_interpreter=%s\n' % (ROOT / '.venv' / 'bin' / 'python')


def run_job(tmp_path, playbook, extravars, inventory=LOCALHOST_INVENTORY, envvars=None, cmdline=None):
    """One job as AWX would launch it: the project is this repository, answers are extra vars."""
    private = tmp_path / 'runner'
    (private / 'inventory').mkdir(parents=True)
    (private / 'inventory' / 'hosts').write_text(inventory)
    env = {'ANSIBLE_CONFIG': str(ROOT / 'ansible.cfg'), 'ANSIBLE_COLLECTIONS_PATH': str(ROOT / '.deps'),
           'ANSIBLE_HOME': str(tmp_path / 'ansible-home'), 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'tmp')}
    env.update(envvars or {})
    result = ansible_runner.run(private_data_dir=str(private), project_dir=str(ROOT), playbook=playbook, extravars=extravars,
                                envvars=env, cmdline=cmdline, quiet=True, timeout=600)
    return result


def task_results(result, task_name):
    return [event['event_data']['res'] for event in result.events
            if event.get('event') in ('runner_on_ok', 'runner_on_failed') and event['event_data'].get('task') == task_name]


def failure_messages(result):
    """Messages of failed tasks, with those of failed loop items."""
    messages = []
    for event in result.events:
        if event.get('event') == 'runner_on_failed':
            res = event['event_data']['res']
            messages.append(res.get('msg', ''))
            messages += [item.get('msg', '') for item in res.get('results', [])]
    return messages


def test_masquerade_with_survey_defaults_renders_one_pod_nic(tmp_path):
    answers = survey_defaults(load_survey('create_vm_with_network.json'))
    answers.update({'vm_name': 'web-1', 'vm_render_only': 'Yes'})
    result = run_job(tmp_path, CREATE_VM, answers)
    assert result.status == 'successful', failure_messages(result)
    (created,) = task_results(result, 'Create the VM')
    (vm,) = created['vms']
    assert vm['action'] == 'rendered' and vm['changed'] is False
    spec = vm['manifest']['spec']['template']['spec']
    assert spec['domain']['devices']['interfaces'] == [{'name': 'default', 'masquerade': {}}] or \
        [(nic['name'], 'masquerade' in nic) for nic in spec['domain']['devices']['interfaces']] == [('default', True)]
    assert spec['networks'] == [{'name': 'default', 'pod': {}}]
    assert vm['live_migratable'] is True


@pytest.mark.parametrize('pools_answer', [['vlan200-v4-b'], 'vlan200-v4-b\n'], ids=['multiselect-list', 'multiselect-lines'])
def test_bridge_two_nics_with_pools_by_hand(tmp_path, pools_answer):
    answers = survey_defaults(load_survey('create_vm_with_network.json'))
    answers.update({'vm_name': 'db-1', 'vm_namespace': 'vms', 'vm_network_mode': 'bridge', 'vm_nic_count': 2,
                    'vm_nic1_multus_cr': 'kube-system/ovs-vlan100', 'vm_nic1_use_default_ip_pool': 'No',
                    'vm_nic1_ip_pools': ['vlan100-v4-a', 'vlan100-v4-b'],
                    'vm_nic2_multus_cr': 'kube-system/ovs-vlan200', 'vm_nic2_use_default_ip_pool': 'No',
                    'vm_nic2_ip_pools': pools_answer, 'vm_render_only': 'Yes'})
    result = run_job(tmp_path, CREATE_VM, answers)
    assert result.status == 'successful', failure_messages(result)
    (created,) = task_results(result, 'Create the VM')
    (vm,) = created['vms']
    template = vm['manifest']['spec']['template']
    networks = template['spec']['networks']
    assert [network['multus']['networkName'] for network in networks] == ['kube-system/ovs-vlan100', 'kube-system/ovs-vlan200']
    assert networks[0]['multus'].get('default') is True
    interfaces = template['spec']['domain']['devices']['interfaces']
    assert [(nic['name'], 'bridge' in nic) for nic in interfaces] == [('nic1', True), ('nic2', True)]
    assert [nic['multus_cr'] for nic in vm['nics']] == ['kube-system/ovs-vlan100', 'kube-system/ovs-vlan200']
    assert [nic['ip_pools']['ipv4'] for nic in vm['nics']] == [['vlan100-v4-a', 'vlan100-v4-b'], ['vlan200-v4-b']]
    # Spiderpool reads the pools, in NIC order, from the template annotation.
    pools_annotation = json.loads(template['metadata']['annotations']['ipam.spidernet.io/ippools'])
    assert [entry['ipv4'] for entry in pools_annotation] == [['vlan100-v4-a', 'vlan100-v4-b'], ['vlan200-v4-b']]


def test_bridge_without_pools_when_default_is_off_fails_naming_the_question(tmp_path):
    answers = survey_defaults(load_survey('create_vm_with_network.json'))
    answers.update({'vm_name': 'db-2', 'vm_network_mode': 'bridge', 'vm_nic_count': 1,
                    'vm_nic1_use_default_ip_pool': 'No', 'vm_nic1_ip_pools': [], 'vm_render_only': 'Yes'})
    result = run_job(tmp_path, CREATE_VM, answers)
    assert result.status == 'failed'
    messages = ' '.join(failure_messages(result))
    assert 'Use Default IP Pool' in messages and 'nic1' in messages
    assert not task_results(result, 'Create the VM')


PREPARE_HOSTS = 'awx/playbooks/prepare_hosts.yml'
UNREACHABLE_WORKERS = LOCALHOST_INVENTORY + '[workers]\nworker1 ansible_host=192.0.2.1 ansible_connection=ssh\n'


@pytest.mark.parametrize('answers, wrong', [
    ({'hosts_bridge_vlans': '100,5000'}, 'not valid: 5000'),
    ({'hosts_bridge_vlans': '100,abc'}, 'not valid: abc'),
    ({'hosts_bridge_name': 'eth1'}, '"Bridge" and "Uplink NIC"'),
    ({'hosts_bridge_uplink': 'a-name-much-too-long'}, 'a-name-much-too-long'),
], ids=['vlan-out-of-range', 'vlan-not-a-number', 'bridge-is-the-uplink', 'uplink-name-too-long'])
def test_prepare_hosts_rejects_bad_answers_before_touching_a_node(tmp_path, answers, wrong):
    extravars = survey_defaults(load_survey('prepare_hosts.json'))
    extravars.update(answers)
    result = run_job(tmp_path, PREPARE_HOSTS, extravars, inventory=UNREACHABLE_WORKERS)
    assert result.status == 'failed'
    assert wrong in ' '.join(failure_messages(result))
    # Nothing ran on (or even tried to reach) the nodes.
    assert not [event for event in result.events if event.get('event_data', {}).get('host') == 'worker1']


@pytest.mark.lab_hosts
def test_prepare_hosts_check_mode_plans_the_bridge_on_every_node(tmp_path, host_lab):
    """Job type Check on three real nodes: each plans br1 on eth1 with the survey's trunks; nothing changes."""
    extravars = survey_defaults(load_survey('prepare_hosts.json'))
    # All three nodes in one batch (the lab's nodes carry no workloads); netdev: the lab has no kernel datapath.
    extravars.update({'hosts_bridge_vlans': '200, 100', 'hosts_bridge_allow_default_route': 'Yes', 'vmnet_datapath_type': 'netdev',
                      'vmnet_hosts_serial': 3})
    lab_env = host_lab.ansible_env(base={})
    result = run_job(tmp_path, PREPARE_HOSTS, extravars, inventory=host_lab.inventory.read_text(encoding='utf-8'),
                     envvars={key: value for key, value in lab_env.items() if key.startswith('ANSIBLE_') and key != 'ANSIBLE_CONFIG'},
                     cmdline='--check')
    assert result.status == 'successful', failure_messages(result)
    (shown,) = task_results(result, 'Show the bridge every node will get')
    bridge = shown['__prepare_bridge']
    assert bridge['uplink'] == {'interface': 'eth1', 'migrate_ip': True, 'allow_default_route': True, 'trunks': [0, 100, 200]}
    planned = task_results(result, 'Reconcile each bridge (one ovs-vsctl transaction, one ip -batch move)')
    assert len(planned) == 3 and all(res['changed'] for res in planned)
    for node in host_lab.nodes:
        assert node.exec(['ovs-vsctl', 'br-exists', 'br1'], check=False).returncode == 2, '%s got a bridge in check mode' % node.name


def sample_network_objects():
    """The sample's pools and Multus CRs as the API holds them once networks.yml has run."""
    variables = sample_vars()
    objects = [{'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'vms'}}]
    for pool in variables['vmnet_ippools']:
        objects.append({'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderIPPool', 'metadata': {'name': pool['name']},
                        'spec': {'subnet': pool['subnet'], 'ips': pool['ips'], 'gateway': pool['gateway'], 'multusName': pool['multus_name']}})
    for cr in variables['vmnet_multus_crs']:
        objects.append({'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderMultusConfig',
                        'metadata': {'name': cr['name'], 'namespace': cr['namespace']},
                        'spec': {'cniType': 'ovs', 'ovs': {'bridge': cr['ovs']['bridge'], 'vlan': cr['ovs']['vlan'],
                                                           'ippools': {'ipv4': cr['default_ip_pools']['ipv4']}}}})
    return objects


def test_create_vm_on_the_cluster_with_default_pool_and_pools_by_hand(tmp_path, kubeapi):
    """The seed's case: NIC 1 on its Multus CR's default pool, NIC 2 on a pool picked by hand, written to the API."""
    kubeapi.simulate('spidermultusconfig-nad')
    for obj in sample_network_objects():
        kubeapi.apply(obj)
    answers = survey_defaults(load_survey('create_vm_with_network.json'))
    answers.update({'vm_name': 'db-3', 'vm_namespace': 'vms', 'vm_network_mode': 'bridge', 'vm_nic_count': 2,
                    'vm_nic1_multus_cr': 'kube-system/ovs-vlan100', 'vm_nic1_use_default_ip_pool': 'Yes',
                    'vm_nic2_multus_cr': 'kube-system/ovs-vlan200', 'vm_nic2_use_default_ip_pool': 'No',
                    'vm_nic2_ip_pools': ['vlan200-v4-b'], 'vmnet_kubeconfig': kubeapi.kubeconfig})
    first = run_job(tmp_path / 'first', CREATE_VM, answers)
    assert first.status == 'successful', failure_messages(first)
    (created,) = task_results(first, 'Create the VM')
    assert created['vms'][0]['action'] == 'created'
    assert [nic['ip_pools']['ipv4'] for nic in created['vms'][0]['nics']] == [['vlan100-v4-a'], ['vlan200-v4-b']]
    vm = kubeapi.get('kubevirt.io/v1', 'VirtualMachine', 'db-3', 'vms')
    template = vm['spec']['template']
    assert [network['multus']['networkName'] for network in template['spec']['networks']] == \
        ['kube-system/ovs-vlan100', 'kube-system/ovs-vlan200']
    annotation = json.loads(template['metadata']['annotations']['ipam.spidernet.io/ippools'])
    assert [entry['ipv4'] for entry in annotation] == [['vlan100-v4-a'], ['vlan200-v4-b']]
    # Launching the same job again changes nothing.
    second = run_job(tmp_path / 'second', CREATE_VM, answers)
    assert second.status == 'successful', failure_messages(second)
    (again,) = task_results(second, 'Create the VM')
    assert again['changed'] is False and again['vms'][0]['action'] == 'unchanged'
