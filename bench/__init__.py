"""Benchmarks for vmnet.kubevirt, printed as ratios against baselines run side by side."""
