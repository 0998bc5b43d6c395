"""The pure pieces of the scale curve (bench/curve.py): per-object cost, extrapolation, the verdict
of each target at its edges, and the size lists. The curve itself is long and never runs in CI."""
import argparse

import pytest

from bench import __main__ as bench_main
from bench import curve, vm_apply


def tool(first, rerun):
    return {'first': first, 'rerun': rerun}


def vm_point(vmnet, k8s, floor, module_mib=60.0, floor_mib=50.0, render=None, carry=None):
    point = {vm_apply.VM_NETWORK: tool(*vmnet), vm_apply.K8S: tool(*k8s), vm_apply.FLOOR: tool(*floor),
             'module_peak_mib': module_mib, 'floor_peak_mib': floor_mib}
    if render is not None:
        point.update(render_s=render, carry_s=carry)
    return point


def by_name(targets):
    return {target.name: target for target in targets}


def test_per_object_cost_is_taken_over_the_base_run():
    assert curve.per_object_ms(3.0, 1000) == pytest.approx(3.0)
    # 5,000 VMs in 11 s over a 1-VM run of 1 s: 10 s for 4,999 VMs.
    assert curve.per_object_ms(11.0, 5000, 1.0, 1) == pytest.approx(10000.0 / 4999)
    assert curve.per_object_ms(1.0, 1, 1.0, 1) != curve.per_object_ms(1.0, 1, 1.0, 1)  # nan: no objects added


def test_extrapolation_keeps_the_cost_per_object():
    assert curve.extrapolated(100.0, 200, 5000) == pytest.approx(2500.0)


def points_with(vm_200=(1.2, 1.1), vm_5000=(6.5, 6.1), k8s_5000=(30.0, 30.0), floor_5000=(3.6, 3.1), render_5000=(4.0, 1.5)):
    return {
        1: vm_point((1.0, 1.0), (1.5, 1.5), (0.4, 0.4)),
        200: vm_point(vm_200, (4.0, 4.0), (0.8, 0.6), render=1.1, carry=1.0),
        5000: vm_point(vm_5000, k8s_5000, floor_5000, module_mib=99.0, floor_mib=50.0, render=render_5000[0], carry=render_5000[1]),
    }


def test_every_target_is_judged_at_its_edge():
    # vm_network adds 0.2 s / 199 VMs (first) and 0.1 s / 199 (re-run) at 200, 5.5 s / 4,999 and
    # 5.1 s / 4,999 at 5,000: 1.09x is flat, 2.03x is not.
    targets = by_name(curve.verdicts(points_with(), {}))
    flat_first = targets['vm_network cost per VM flat, first run: 5000 VMs within 1.2x of 200 VMs']
    flat_rerun = targets['vm_network cost per VM flat, re-run: 5000 VMs within 1.2x of 200 VMs']
    assert flat_first.met and flat_first.figure == '1.09x'
    assert not flat_rerun.met and flat_rerun.figure == '2.03x'
    # 6.5 / 3.6 and 6.1 / 3.1 are within 2x of the floor; 30 / 6.5 and 30 / 6.1 faster than k8s.
    assert targets['vm_network within 2x of the floor at 5000 VMs (worse of first run and re-run)'].met
    assert targets['vm_network at least 3x faster than one k8s task at 5000 VMs (worse of first run and re-run)'].met
    # At 200: 4.0 / 1.2 = 3.33x; render 0.1 s over 200 VMs = 0.50 ms, not under 0.5.
    assert targets['vm_network at least 3x faster than one k8s task at 200 VMs (worse of first run and re-run)'].met
    assert not targets['render_only under 0.5 ms per VM over the data-carrying baseline at 200 VMs'].met
    assert targets['render_only under 0.5 ms per VM over the data-carrying baseline at 5000 VMs'].figure == '0.50 ms'
    assert targets['module peak memory within 2x of the floor\'s at 5000 VMs'].met  # 99 / 50
    assert 'vm_network within 2x of the floor at 200 VMs (worse of first run and re-run)' not in targets


def test_the_row_without_manifests_is_judged_on_every_speed_target_under_its_own_name():
    points = points_with()
    for size, times in ((1, (0.9, 0.9)), (200, (1.1, 1.0)), (5000, (8.0, 5.0))):
        points[size][vm_apply.VM_NETWORK_LEAN] = tool(*times)
    targets = by_name(curve.verdicts(points, {}))
    lean = 'vm_network with return_manifests: false'
    # 8.0 / 3.6 = 2.22x: not within 2x of the floor although the default row (6.5 / 3.6) is.
    floor = targets['%s within 2x of the floor at 5000 VMs (worse of first run and re-run)' % lean]
    assert not floor.met and floor.figure == '2.22x'
    assert targets['vm_network within 2x of the floor at 5000 VMs (worse of first run and re-run)'].met
    assert '%s cost per VM flat, first run: 5000 VMs within 1.2x of 200 VMs' % lean in targets
    assert targets['%s at least 3x faster than one k8s task at 200 VMs (worse of first run and re-run)' % lean].met  # 4.0 / 1.1


def test_missed_targets_say_missed():
    targets = by_name(curve.verdicts(points_with(vm_5000=(7.3, 6.1), k8s_5000=(21.0, 30.0)), {}))
    assert not targets['vm_network within 2x of the floor at 5000 VMs (worse of first run and re-run)'].met
    k8s = targets['vm_network at least 3x faster than one k8s task at 5000 VMs (worse of first run and re-run)']
    assert not k8s.met and k8s.figure == '2.88x'


def test_a_negative_added_cost_is_noise_not_flat():
    targets = by_name(curve.verdicts(points_with(vm_200=(0.9, 1.1)), {}))
    assert not targets['vm_network cost per VM flat, first run: 5000 VMs within 1.2x of 200 VMs'].met


def test_host_targets_per_node_count():
    host_points = {10: {'ours': (5.0, 3.0), 'baseline': (10.0, 9.0), 'gaps_ms': [5.0, 99.9]},
                   30: {'ours': (15.0, 10.0), 'baseline': (30.0, 29.0), 'gaps_ms': [5.0, 100.0]}}
    targets = by_name(curve.verdicts({}, host_points))
    assert targets['host re-run at least 3x faster than the baseline on 10 nodes'].met
    assert not targets['host re-run at least 3x faster than the baseline on 30 nodes'].met
    assert targets['uplink gap under 100 ms on every one of 10 nodes'].met
    assert not targets['uplink gap under 100 ms on every one of 30 nodes'].met


def test_size_lists():
    assert bench_main.sizes_list('200, 1000,5000') == (200, 1000, 5000)
    assert bench_main.sizes_list('') == ()
    for bad in ('200,x', '1'):
        with pytest.raises(argparse.ArgumentTypeError):
            bench_main.sizes_list(bad)
