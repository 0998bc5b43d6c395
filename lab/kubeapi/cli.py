"""``python -m lab kubeapi``: serve the emulator on 127.0.0.1 until killed, and write a kubeconfig."""
import argparse
import base64
import os
import pathlib
import signal
import sys

import yaml

from lab import RUN_DIR
from lab.kubeapi import crdgen
from lab.kubeapi.api import Api
from lab.kubeapi.server import make_server
from lab.kubeapi.simulations import Simulations
from lab.kubeapi.tls import make_certificates

CONTEXT = 'vmnet-lab'


def kubeconfig_document(url, token=None, ca_path=None, namespace='default'):
    cluster = {'server': url}
    if ca_path is not None:
        cluster['certificate-authority-data'] = base64.b64encode(pathlib.Path(ca_path).read_bytes()).decode()
    user = {'token': token} if token else {}
    return {
        'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
        'clusters': [{'name': CONTEXT, 'cluster': cluster}],
        'users': [{'name': CONTEXT, 'user': user}],
        'contexts': [{'name': CONTEXT, 'context': {'cluster': CONTEXT, 'user': CONTEXT, 'namespace': namespace}}],
        'current-context': CONTEXT,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m lab kubeapi', description='Kubernetes API server emulator')
    parser.add_argument('--port', type=int, default=0, help='TCP port on 127.0.0.1 (0: pick a free one)')
    parser.add_argument('--kubeconfig', default=str(RUN_DIR / 'kubeapi' / 'kubeconfig'),
                        help='where to write the kubeconfig (written once the port is bound)')
    parser.add_argument('--tls', action='store_true', help='serve HTTPS with a self-signed CA (CA in the kubeconfig)')
    parser.add_argument('--token', default=os.environ.get('KUBEAPI_LAB_TOKEN'),
                        help='require this bearer token (401 otherwise); default from $KUBEAPI_LAB_TOKEN')
    parser.add_argument('--crds', default='spiderpool-v1.2', choices=sorted(crdgen.SETS) + ['none'],
                        help='preloaded CRD set')
    parser.add_argument('--simulate', action='append', default=[], choices=Simulations().known(),
                        help='switch a controller simulation on at start (repeatable)')
    parser.add_argument('--seed', type=int, default=0, help='seed for probabilistic fault injection')
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    kubeconfig = pathlib.Path(args.kubeconfig).resolve()
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    simulations = Simulations()
    api = Api(crdgen.load_set(args.crds), simulations=simulations)
    tls_paths = make_certificates(kubeconfig.parent / (kubeconfig.name + '.tls')) if args.tls else None
    server = make_server(api, port=args.port, token=args.token,
                         tls=(str(tls_paths['cert']), str(tls_paths['key'])) if tls_paths else None, seed=args.seed)
    for name in args.simulate:
        simulations.switch(name, True, api)
    port = server.server_address[1]
    url = '%s://127.0.0.1:%d' % ('https' if args.tls else 'http', port)
    document = kubeconfig_document(url, args.token, tls_paths['ca'] if tls_paths else None)
    partial = kubeconfig.with_name(kubeconfig.name + '.partial')
    partial.write_text(yaml.safe_dump(document, sort_keys=False), encoding='utf-8')
    partial.chmod(0o600)
    os.replace(partial, kubeconfig)  # atomic: whoever waits for the file sees it whole

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print('kubeapi serving %s (kubeconfig %s, pid %d)' % (url, kubeconfig, os.getpid()), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        with api.store.lock:
            api.store.closed = True
            api.store.changed.notify_all()
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
