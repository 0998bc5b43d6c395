"""How every module ends (``_problems.finish``): warnings that repeat for many subjects fold into one."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import fold_repeated, finish

DNS = "the guest's DNS server from KubeVirt's DHCP is the cluster DNS Service IP"


def test_the_same_words_for_many_vms_make_one_warning_naming_three_and_counting_the_rest():
    warnings = ['ns/vm-%04d: %s' % (index, DNS) for index in range(1000)]
    assert fold_repeated(warnings) == ['ns/vm-0000, ns/vm-0001, ns/vm-0002 and 997 more: %s' % DNS]


@pytest.mark.parametrize('subjects, named', [
    (['ns/a'], 'ns/a'),
    (['ns/a', 'ns/b'], 'ns/a and ns/b'),
    (['ns/a', 'ns/b', 'ns/c'], 'ns/a, ns/b and ns/c'),
    (['ns/a', 'ns/b', 'ns/c', 'ns/d'], 'ns/a, ns/b, ns/c and 1 more'),
])
def test_the_folded_warning_names_its_subjects_in_plain_words(subjects, named):
    assert fold_repeated(['%s: %s' % (subject, DNS) for subject in subjects]) == ['%s: %s' % (named, DNS)]


def test_different_words_stay_apart_in_first_seen_order_and_a_subject_is_named_once():
    warnings = ['ns/a: one', 'vms[1].namespace: two', 'ns/b: one', 'ns/a: one', 'vms[2].namespace: two']
    assert fold_repeated(warnings) == ['ns/a and ns/b: one', 'vms[1].namespace and vms[2].namespace: two']


def test_a_message_whose_head_has_spaces_is_not_split_only_deduplicated():
    """'namespace x could not be read: 403' has no one-word subject: folding it with another ': 403' would garble both."""
    warnings = ['namespace a could not be read: 403', 'namespace b could not be read: 403', 'namespace a could not be read: 403']
    assert fold_repeated(warnings) == ['namespace a could not be read: 403', 'namespace b could not be read: 403']


class RecordingModule:
    def __init__(self):
        self.warned, self.ended = [], None

    def warn(self, message):
        self.warned.append(message)

    def exit_json(self, **result):
        self.ended = ('exit', result)
        raise SystemExit(0)  # as AnsibleModule does

    def fail_json(self, **result):
        self.ended = ('fail', result)
        raise SystemExit(1)


@pytest.mark.parametrize('failed', [False, True])
def test_finish_warns_once_per_folded_message_then_ends_with_the_rest_of_the_result(failed):
    module = RecordingModule()
    result = {'changed': False, 'vms': [{'name': 'a', 'warnings': ['ns/a: %s' % DNS]}],
              'warnings': ['ns/a: %s' % DNS, 'ns/b: %s' % DNS]}
    if failed:
        result.update(failed=True, msg='boom')
    with pytest.raises(SystemExit):
        finish(module, result)
    assert module.warned == ['ns/a and ns/b: %s' % DNS]
    kind, ended = module.ended
    assert kind == ('fail' if failed else 'exit') and 'warnings' not in ended and 'failed' not in ended
    assert ended['vms'][0]['warnings'] == ['ns/a: %s' % DNS]  # each VM's own result keeps its own words
