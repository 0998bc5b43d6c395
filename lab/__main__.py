"""Entry point: ``python -m lab {kubeapi,hosts,demo} ...`` from the repository root."""
import importlib
import sys

COMMANDS = {
    'kubeapi': ('lab.kubeapi.cli', 'Kubernetes API server emulator'),
    'hosts': ('lab.hosts.cli', 'multi-node host lab over SSH with Open vSwitch'),
    'demo': ('lab.demo', 'the main job: site.yml on the embedded lab'),
}


def usage():
    lines = ['usage: python -m lab COMMAND [ARGS...]', '', 'commands:']
    lines += ['  %-8s %s' % (name, text) for name, (_module, text) in COMMANDS.items()]
    return '\n'.join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == '__main__':
    sys.exit(main())
