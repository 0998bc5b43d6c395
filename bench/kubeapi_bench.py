"""Benchmark of the Kubernetes API emulator: request latency and list time for 1,000 objects.

    .venv/bin/python -m bench.kubeapi_bench [--objects 1000] [--requests 500]

Every figure is printed with a ratio against a baseline run side by side in the same process:
a minimal HTTP server that answers a fixed JSON body with the same keep-alive settings (the
floor any Python server can reach here), and the emulator itself with Nagle's algorithm left on
(what the handler's ``disable_nagle_algorithm`` saves).
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.kubeapi import crdgen
from lab.kubeapi.api import Api
from lab.kubeapi.server import Handler, make_server

POOL_PATH = '/apis/spiderpool.spidernet.io/v2beta1/spiderippools'


class FloorHandler(BaseHTTPRequestHandler):
    """Fixed answer, same protocol settings: the cost of Python's HTTP server alone."""

    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    body = json.dumps({'kind': 'ConfigMap', 'apiVersion': 'v1', 'metadata': {'name': 'floor'}}).encode()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    thread.start()
    return server


def emulator(nagle_off=True):
    api = Api(crdgen.load_set('spiderpool-v1.2'))
    server = make_server(api)
    if not nagle_off:
        server.RequestHandlerClass = type('NagleHandler', (server.RequestHandlerClass,), {'disable_nagle_algorithm': False})
    return serve(server)


def timed_requests(port, method, path, count, body=None, content_type='application/json'):
    """Per-request wall times (s) over one keep-alive connection."""
    connection = http.client.HTTPConnection('127.0.0.1', port)
    times = []
    try:
        for index in range(count):
            payload = body(index) if callable(body) else body
            headers = {'Content-Type': content_type} if payload is not None else {}
            started = time.perf_counter()
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
            if response.status >= 300:
                raise RuntimeError('%s %s answered %s' % (method, path, response.status))
    finally:
        connection.close()
    return times


def pool_body(index):
    third, fourth = divmod(index, 250)
    return json.dumps({'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderIPPool',
                       'metadata': {'name': 'pool-%05d' % index, 'labels': {'bench': 'yes', 'shard': str(index % 10)}},
                       'spec': {'subnet': '10.%d.%d.0/24' % (third // 250, third % 250),
                                'ips': ['10.%d.%d.%d' % (third // 250, third % 250, fourth + 2)]}}).encode()


def ms(seconds):
    return seconds * 1000.0


def line(label, value, unit, baseline=None, baseline_label=None):
    text = '%-52s %9.3f %s' % (label, value, unit)
    if baseline:
        text += '   x%.2f vs %s (%.3f %s)' % (value / baseline, baseline_label, baseline, unit)
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench.kubeapi_bench', description=__doc__.split('\n', 1)[0])
    parser.add_argument('--objects', type=int, default=1000, help='objects created and listed (default 1000)')
    parser.add_argument('--requests', type=int, default=500, help='GET requests timed per server (default 500)')
    args = parser.parse_args(argv)
    floor = serve(ThreadingHTTPServer(('127.0.0.1', 0), FloorHandler))
    fast, nagle = emulator(), emulator(nagle_off=False)
    servers = (floor, fast, nagle)
    try:
        fast_port, nagle_port = fast.server_address[1], nagle.server_address[1]
        for port in (fast_port, nagle_port):
            timed_requests(port, 'POST', POOL_PATH, 1, body=pool_body(99999))
        print('kubeapi emulator benchmark (%d objects, %d timed GETs per server)' % (args.objects, args.requests))
        floor_get = statistics.median(timed_requests(floor.server_address[1], 'GET', '/', args.requests))
        get_times = timed_requests(fast_port, 'GET', POOL_PATH + '/pool-99999', args.requests)
        nagle_get = statistics.median(timed_requests(nagle_port, 'GET', POOL_PATH + '/pool-99999', args.requests))
        line('GET one object, median', ms(statistics.median(get_times)), 'ms', ms(floor_get), 'fixed-answer floor')
        line('GET one object, p95', ms(sorted(get_times)[int(len(get_times) * 0.95) - 1]), 'ms')
        line('GET one object, Nagle left on, median', ms(nagle_get), 'ms', ms(statistics.median(get_times)), 'Nagle off')
        create_times = timed_requests(fast_port, 'POST', POOL_PATH, args.objects, body=pool_body)
        line('create (schema validation + defaulting), median', ms(statistics.median(create_times)), 'ms',
             ms(floor_get), 'fixed-answer floor')
        line('create %d objects, total' % args.objects, sum(create_times), 's')
        patch = json.dumps({'metadata': {'labels': {'patched': 'yes'}}}).encode()
        patches = min(50, args.requests)
        patch_times = timed_requests(fast_port, 'PATCH', POOL_PATH + '/pool-00001', patches, body=patch,
                                     content_type='application/merge-patch+json')
        nagle_patch = timed_requests(nagle_port, 'PATCH', POOL_PATH + '/pool-99999', patches, body=patch,
                                     content_type='application/merge-patch+json')
        line('merge PATCH, median', ms(statistics.median(patch_times)), 'ms')
        line('merge PATCH, Nagle left on, median', ms(statistics.median(nagle_patch)), 'ms',
             ms(statistics.median(patch_times)), 'Nagle off')
        list_all = timed_requests(fast_port, 'GET', POOL_PATH, 5)
        line('LIST all %d objects, median of 5' % (args.objects + 1), ms(statistics.median(list_all)), 'ms',
             ms(floor_get), 'fixed-answer floor')
        selected = timed_requests(fast_port, 'GET', POOL_PATH + '?labelSelector=shard%3D3', 5)
        line('LIST with labelSelector (1 in 10), median of 5', ms(statistics.median(selected)), 'ms',
             ms(statistics.median(list_all)), 'LIST all')
        paged = timed_requests(fast_port, 'GET', POOL_PATH + '?limit=100', 5)
        line('LIST first page (limit=100), median of 5', ms(statistics.median(paged)), 'ms',
             ms(statistics.median(list_all)), 'LIST all')
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    return 0


__all__ = ['Handler', 'main']

if __name__ == '__main__':
    sys.exit(main())
