"""The emulator benchmark still runs and prints every figure (sizes tiny; no timing asserted)."""
from bench import kubeapi_bench


def test_benchmark_prints_every_figure(capsys):
    assert kubeapi_bench.main(['--objects', '12', '--requests', '3']) == 0
    out = capsys.readouterr().out
    for label in ('GET one object, median', 'Nagle left on', 'create 12 objects, total', 'LIST all 13 objects',
                  'LIST with labelSelector', 'LIST first page (limit=100)'):
        assert label in out
    assert out.count(' x') >= 6
