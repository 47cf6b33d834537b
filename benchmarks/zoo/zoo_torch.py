#!/usr/bin/python3
"""PyTorch's worker for the zoo runner (run_zoo.py): the same protocol and rows as zoo_ctnn.

    /usr/bin/python3 zoo_torch.py [--threads N] [--seconds S] < specs

Specs: "conv C OC K S P H N", "maxpool C K S P H N", "avgpool C K S P H N", "model NAME N", "gemm M", "rss";
each is answered with one JSON line ({"spec", "ms"} or {"spec", "gflops"} or {"spec", "peak_rss_mb"}).
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def median_ms(seconds, f):
    # As zoo.hpp's median_ms: 2 warm-up calls, then at least 5 and about `seconds`.
    f()
    f()
    ms = []
    start = time.perf_counter()
    while len(ms) < 5 or (time.perf_counter() - start < seconds and len(ms) < 10000):
        t0 = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def time_layer(layer, n, c, h, seconds):
    # forward, then backward of a fixed gradient, the input gradient included (as zoo_ctnn)
    x = (torch.rand(n, c, h, h) * 2 - 1).requires_grad_(True)
    dy = torch.rand_like(layer(x)) * 2 - 1

    def it():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).backward(dy)

    return median_ms(seconds, it)


def make_model(name):
    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                             nn.AvgPool2d(2), nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84),
                             nn.Tanh(), nn.Linear(84, 10)), 1
    if name == "cifar_net":
        return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10)), 3
    if name == "vgg_small":
        return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 8 * 8, 10)), 3
    raise ValueError(f"unknown model {name}")


def time_model(name, n, seconds):
    model, c = make_model(name)
    x = torch.rand(n, c, 32, 32) * 2 - 1
    y = torch.arange(n) % 10
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def it():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    return median_ms(seconds, it)


def answer(spec, seconds):
    words = spec.split()
    kind, v = words[0], words[1:]
    if kind == "rss":
        return {"spec": spec, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if kind == "gemm":
        m = int(v[0])
        a, b = torch.full((m, m), 0.5), torch.full((m, m), 0.25)
        return {"spec": spec, "gflops": 2.0 * m ** 3 / (median_ms(seconds, lambda: torch.mm(a, b)) * 1e6)}
    if kind == "conv":
        c, oc, k, s, p, h, n = map(int, v)
        ms = time_layer(nn.Conv2d(c, oc, k, stride=s, padding=p), n, c, h, seconds)
    elif kind in ("maxpool", "avgpool"):
        c, k, s, p, h, n = map(int, v)
        layer = (nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(k, stride=s, padding=p)
        ms = time_layer(layer, n, c, h, seconds)
    elif kind == "model":
        ms = time_model(v[0], int(v[1]), seconds)
    else:
        return {"spec": spec, "error": "unknown spec"}
    return {"spec": spec, "ms": ms, "threads": torch.get_num_threads()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=0.5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for line in sys.stdin:
        spec = line.strip()
        if spec:
            print(json.dumps(answer(spec, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
