"""ansible-lint's production profile over the Ansible content users run: no finding at all."""
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ANSIBLE_LINT = ROOT / '.venv' / 'bin' / 'ansible-lint'
LINTED = ['roles', 'playbooks', 'extensions', 'awx']


def test_production_profile_reports_no_finding():
    result = subprocess.run([str(ANSIBLE_LINT), '--format', 'pep8', '--nocolor'] + LINTED, cwd=ROOT,
                            capture_output=True, text=True, check=False, timeout=600)
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    assert findings == [], '%d finding(s):\n%s\n%s' % (len(findings), result.stdout, result.stderr[-2000:])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in result.stderr, result.stderr[-2000:]


def test_the_one_skipped_rule_is_the_role_prefix_and_says_why():
    config_text = (ROOT / '.ansible-lint').read_text()
    config = yaml.safe_load(config_text)
    assert config['profile'] == 'production'
    assert config['skip_list'] == ['var-naming[no-role-prefix]']
    assert not config.get('warn_list')
    assert 'renaming public variables breaks' in config_text
