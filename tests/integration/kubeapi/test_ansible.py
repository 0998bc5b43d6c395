"""kubernetes.core and kubevirt.core modules against the emulator, through real ansible-playbook runs."""
import json
import pathlib
import subprocess
import sys

import yaml

from lab.kubeapi.fixtures import start_kubeapi

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK = str(pathlib.Path(sys.executable).parent / 'ansible-playbook')
SP = 'spiderpool.spidernet.io/v2beta1'


def run_playbook(kubeapi, tmp_path, tasks, extra_args=(), module_defaults=None):
    """Run ``tasks`` on localhost; returns {task name: result} from a callback-free JSON dump."""
    results_file = tmp_path / 'results.json'
    play = {
        'hosts': 'localhost', 'gather_facts': False,
        'module_defaults': module_defaults or {
            'group/kubernetes.core.k8s': {'kubeconfig': kubeapi.kubeconfig},
            'kubevirt.core.kubevirt_vm': {'kubeconfig': kubeapi.kubeconfig},
        },
        'tasks': tasks + [{'name': 'dump results', 'check_mode': False, 'ansible.builtin.copy': {
            'dest': str(results_file), 'content': '{{ lab_results | default({}) | to_json }}'}}],
    }
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([play], sort_keys=False), encoding='utf-8')
    env = kubeapi.env()
    env.update({'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp'), 'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'ansible-tmp'),
                'TMPDIR': str(tmp_path), 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_CHECK_MODE_MARKERS': '0'})
    argv = [PLAYBOOK, '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
            *extra_args, str(playbook)]
    result = subprocess.run(argv, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise AssertionError('ansible-playbook failed:\n%s\n%s' % (result.stdout[-6000:], result.stderr[-3000:]))
    return json.loads(results_file.read_text(encoding='utf-8')) if results_file.exists() else {}


def keep(name, task):
    """A task whose registered result is collected under ``name``."""
    task = dict(task, register='lab_' + name)
    saver = {'name': 'keep ' + name,
             'ansible.builtin.set_fact': {'lab_results': '{{ lab_results | default({}) | combine({"%s": lab_%s}) }}'
                                          % (name, name)}}
    return [task, saver]


def pool(name, ips, labels=None, **spec):
    return {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': name, 'labels': labels or {}},
            'spec': dict(subnet='10.30.0.0/24', ips=ips, **spec)}


def test_k8s_present_twice_info_selectors_json_patch_force_and_absent(kubeapi, tmp_path):
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'unrelated', 'namespace': 'default'}})
    kubeapi.clear_requests()
    tasks = []
    tasks += keep('first', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.10'], {'tier': 'a'})}})
    tasks += keep('second', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.10'], {'tier': 'a'})}})
    tasks += keep('other', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p2', ['10.30.0.20'], {'tier': 'b'})}})
    pools = {'api_version': SP, 'kind': 'SpiderIPPool'}
    tasks += keep('info_label', {'kubernetes.core.k8s_info': dict(pools, label_selectors=['tier=b'])})
    tasks += keep('info_field', {'kubernetes.core.k8s_info': dict(pools, field_selectors=['metadata.name=p1'])})
    tasks += keep('json_patch', {'kubernetes.core.k8s_json_patch': {
        'api_version': SP, 'kind': 'SpiderIPPool', 'name': 'p1',
        'patch': [{'op': 'add', 'path': '/spec/gateway', 'value': '10.30.0.1'}]}})
    tasks += keep('modify', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.11'], {'tier': 'a'})}})
    tasks += keep('force', {'kubernetes.core.k8s': {'state': 'present', 'force': True,
                                                    'definition': pool('p1', ['10.30.0.12'], {'tier': 'a'})}})
    tasks += keep('apply_first', {'kubernetes.core.k8s': {'state': 'present', 'apply': True,
                                                          'definition': pool('p3', ['10.30.0.30'])}})
    tasks += keep('apply_again', {'kubernetes.core.k8s': {'state': 'present', 'apply': True,
                                                          'definition': pool('p3', ['10.30.0.30'])}})
    tasks += keep('ssa', {'kubernetes.core.k8s': {'state': 'present', 'apply': True, 'server_side_apply': {'field_manager': 'vmnet'},
                                                  'definition': pool('p4', ['10.30.0.40'])}})
    tasks += keep('absent', {'kubernetes.core.k8s': {'state': 'absent', 'api_version': SP, 'kind': 'SpiderIPPool', 'name': 'p2'}})
    tasks += keep('absent_again', {'kubernetes.core.k8s': {'state': 'absent', 'api_version': SP, 'kind': 'SpiderIPPool',
                                                           'name': 'p2'}})
    results = run_playbook(kubeapi, tmp_path, tasks)
    assert results['first']['changed'] is True and results['second']['changed'] is False
    assert [r['metadata']['name'] for r in results['info_label']['resources']] == ['p2']
    assert [r['metadata']['name'] for r in results['info_field']['resources']] == ['p1']
    assert results['json_patch']['changed'] is True and results['json_patch']['result']['spec']['gateway'] == '10.30.0.1'
    assert results['modify']['changed'] is True and results['modify']['result']['spec']['ips'] == ['10.30.0.11']
    # force replaces the object: the gateway added by the JSON patch is gone.
    assert results['force']['changed'] is True and 'gateway' not in results['force']['result']['spec']
    assert results['apply_first']['changed'] is True and results['apply_again']['changed'] is False
    assert results['ssa']['changed'] is True
    ssa_managers = [e['manager'] for e in kubeapi.get(SP, 'SpiderIPPool', 'p4')['metadata']['managedFields']]
    assert ssa_managers == ['vmnet']
    assert results['absent']['changed'] is True and results['absent_again']['changed'] is False
    assert kubeapi.get(SP, 'SpiderIPPool', 'p2') is None
    verbs = [(w['verb'], w['name']) for w in kubeapi.writes()]
    assert ('create', None) in verbs and ('delete', 'p2') in verbs
    # The unchanged second run and the second absent wrote nothing: count writes per object.
    assert [v for v in verbs if v[1] == 'p2'] == [('delete', 'p2')]


def test_check_mode_with_diff_writes_nothing(kubeapi, tmp_path):
    kubeapi.apply(pool('p1', ['10.30.0.10']))
    kubeapi.clear_requests()
    tasks = keep('changed', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.99'])}})
    tasks += keep('new', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p9', ['10.30.0.9'])}})
    tasks += keep('gone', {'kubernetes.core.k8s': {'state': 'absent', 'api_version': SP, 'kind': 'SpiderIPPool', 'name': 'p1'}})
    results = run_playbook(kubeapi, tmp_path, tasks, extra_args=['--check', '--diff'])
    assert results['changed']['changed'] is True and results['new']['changed'] is True and results['gone']['changed'] is True
    assert results['changed']['diff']['after']['spec']['ips'] == ['10.30.0.99']
    assert kubeapi.writes() == []
    assert kubeapi.get(SP, 'SpiderIPPool', 'p1')['spec']['ips'] == ['10.30.0.10']
    assert kubeapi.get(SP, 'SpiderIPPool', 'p9') is None


def test_kubevirt_vm_present_twice_drops_null_running(kubeapi, tmp_path):
    vm = {'name': 'vm1', 'namespace': 'default', 'run_strategy': 'Halted',
          'spec': {'domain': {'devices': {'interfaces': [{'name': 'default', 'masquerade': {}}]}},
                   'networks': [{'name': 'default', 'pod': {}}]}}
    tasks = keep('first', {'kubevirt.core.kubevirt_vm': dict(vm, state='present')})
    tasks += keep('second', {'kubevirt.core.kubevirt_vm': dict(vm, state='present')})
    results = run_playbook(kubeapi, tmp_path, tasks)
    assert results['first']['changed'] is True and results['second']['changed'] is False
    stored = kubeapi.get('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'default')
    assert stored['spec']['runStrategy'] == 'Halted' and 'running' not in stored['spec']
    assert stored['spec']['template']['spec']['domain']['devices']['interfaces'] == [{'name': 'default', 'masquerade': {}}]


def test_invalid_definition_fails_with_field_message(kubeapi, tmp_path):
    bad = pool('bad', ['10.30.0.10'])
    bad['spec']['ipVersion'] = 7
    tasks = keep('bad', {'kubernetes.core.k8s': {'state': 'present', 'definition': bad}, 'ignore_errors': True})
    results = run_playbook(kubeapi, tmp_path, tasks)
    assert results['bad']['failed'] is True
    assert 'spec.ipVersion: Unsupported value: 7' in results['bad']['msg'] + json.dumps(results['bad'].get('error', ''))
    assert kubeapi.writes() == [] or all(w['status'] >= 400 for w in kubeapi.writes())
    assert kubeapi.get(SP, 'SpiderIPPool', 'bad') is None


def test_throttled_create_fails_the_task_and_stores_nothing(kubeapi, tmp_path):
    # kubernetes.core does not retry a 429 on create: the task fails and names the reason.
    kubeapi.inject(status=429, verb='create', resource='spiderippools', count=1, retry_after=1)
    tasks = keep('throttled', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.10'])},
                               'ignore_errors': True})
    tasks += keep('retried', {'kubernetes.core.k8s': {'state': 'present', 'definition': pool('p1', ['10.30.0.10'])}})
    results = run_playbook(kubeapi, tmp_path, tasks)
    assert results['throttled']['failed'] is True and results['throttled']['reason'] == 'Too Many Requests'
    assert results['retried']['changed'] is True
    creates = [r['status'] for r in kubeapi.requests() if r['verb'] == 'create' and r['resource'] == 'spiderippools']
    assert creates == [429, 201]


def test_token_and_tls_auth_options(tmp_path):
    with start_kubeapi(tmp_path / 'secure', tls=True, token='t0ken') as server:
        base = {'host': server.url, 'api_key': 't0ken', 'ca_cert': server.ca_cert}
        tasks = keep('good', {'kubernetes.core.k8s_info': dict(base, kind='Namespace', name='kube-system')})
        tasks += keep('no_verify', {'kubernetes.core.k8s_info': dict(base, kind='Namespace', name='default', ca_cert=None,
                                                                     validate_certs=False)})
        tasks += keep('bad_token', {'kubernetes.core.k8s_info': dict(base, kind='Namespace', api_key='wrong'),
                                    'ignore_errors': True})
        tasks += keep('bad_ca', {'kubernetes.core.k8s_info': dict(base, kind='Namespace', ca_cert=None,
                                                                  validate_certs=True), 'ignore_errors': True})
        tasks += keep('kubeconfig', {'kubernetes.core.k8s': {'kubeconfig': server.kubeconfig, 'state': 'present',
                                                             'definition': pool('p1', ['10.30.0.10'])}})
        results = run_playbook(server, tmp_path, tasks, module_defaults={})
        assert [r['metadata']['name'] for r in results['good']['resources']] == ['kube-system']
        assert [r['metadata']['name'] for r in results['no_verify']['resources']] == ['default']
        assert results['bad_token']['failed'] is True and '401' in json.dumps(results['bad_token'])
        assert results['bad_ca']['failed'] is True and 'CERTIFICATE_VERIFY_FAILED' in json.dumps(results['bad_ca'])
        assert results['kubeconfig']['changed'] is True
        assert server.get(SP, 'SpiderIPPool', 'p1')['spec']['ips'] == ['10.30.0.10']


def test_kubevirt_vm_started_stopped_and_wait_with_the_vm_simulation(kubeapi, tmp_path):
    kubeapi.simulate('vm-vmi')
    vm = {'name': 'vm2', 'namespace': 'default', 'run_strategy': 'Halted', 'wait_sleep': 1, 'wait_timeout': 30,
          'spec': {'domain': {'devices': {'interfaces': [{'name': 'default', 'masquerade': {}}]}},
                   'networks': [{'name': 'default', 'pod': {}}]}}
    # started/stopped leave runStrategy alone unless it is given (it would be re-applied first).
    lifecycle = {k: v for k, v in vm.items() if k != 'run_strategy'}
    tasks = keep('created', {'kubevirt.core.kubevirt_vm': dict(vm, state='present')})
    tasks += keep('started', {'kubevirt.core.kubevirt_vm': dict(lifecycle, state='started', wait=True)})
    tasks += keep('started_again', {'kubevirt.core.kubevirt_vm': dict(lifecycle, state='started')})
    tasks += keep('vmi', {'kubevirt.core.kubevirt_vmi_info': {'name': 'vm2', 'namespace': 'default',
                                                              'kubeconfig': kubeapi.kubeconfig}})
    tasks += keep('stopped', {'kubevirt.core.kubevirt_vm': dict(lifecycle, state='stopped', wait=True)})
    tasks += keep('stopped_again', {'kubevirt.core.kubevirt_vm': dict(lifecycle, state='stopped')})
    results = run_playbook(kubeapi, tmp_path, tasks)
    assert results['created']['changed'] is True
    assert results['started']['changed'] is True and results['started_again']['changed'] is False
    interfaces = results['vmi']['resources'][0]['status']['interfaces']
    assert interfaces[0]['name'] == 'default' and interfaces[0]['ipAddress'].startswith('10.244.')
    assert results['stopped']['changed'] is True and results['stopped_again']['changed'] is False
    stored = kubeapi.get('kubevirt.io/v1', 'VirtualMachine', 'vm2', 'default')
    assert stored['spec']['runStrategy'] == 'Halted' and stored['status']['printableStatus'] == 'Stopped'
    actions = [(w['subresource'], w['status']) for w in kubeapi.writes() if w['group'] == 'subresources.kubevirt.io']
    assert actions == [('start', 202), ('start', 409), ('stop', 202), ('stop', 409)]
