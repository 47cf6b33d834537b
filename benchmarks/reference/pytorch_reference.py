#!/usr/bin/python3
"""PyTorch reference for the side-by-side benchmark (issue 4): the seed workloads, as ctnn_reference runs them.

    /usr/bin/python3 benchmarks/reference/pytorch_reference.py WORKLOAD [--epochs N] [--train-limit N]
                                                                [--threads N] [--steps N] [--data DIR]

WORKLOAD is one of v0, v1, tinyvgg (seed 001: batch 32, SGD lr 0.1, CrossEntropyLoss), binary (seed 000:
t-shirt vs ankle boot, 784-256-128-32-1, Dropout(0.25), Sigmoid, BCELoss, Adam 1e-3, batch 64, images in
[-1, 1]), gan (seed 004: one step = D on real, D on fake, G through D; Adam 1e-4, batch 32; --steps steps
timed and scaled to the 1875 steps of an epoch), infer_v0 / infer_tinyvgg (single-image forward latency, eval
mode, torch.inference_mode, one thread, median of many).

The real Fashion-MNIST is read with gzip + numpy into in-memory tensors; batches are slices of those tensors
through a shuffled index tensor (no per-sample Python work). seconds_per_epoch is the training time only
(the test pass is not timed), scaled to the full training set when --train-limit is given. Prints one JSON
line: {"workload", "seconds_per_epoch", "test_acc", "peak_rss_mb"} (+ "latency_us" for infer_*).
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
GAN_STEPS_PER_EPOCH = 60000 // 32  # 1875, drop_last as gan.cpp


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_fashion(root, train):
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    labels = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"), 8)
    # ToTensor: [0, 1] floats
    return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels.astype(np.int64))


# ---- seed 001's models --------------------------------------------------------------------------------
HIDDEN = 10


def model_v0():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, HIDDEN), nn.Linear(HIDDEN, 10))


def model_v1():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10), nn.ReLU())


class TinyVGG(nn.Module):  # FashionMNISTModelV2
    def __init__(self, c=HIDDEN):
        super().__init__()
        self.conv_block_1 = nn.Sequential(nn.Conv2d(1, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(),
                                          nn.MaxPool2d(2))
        self.conv_block_2 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(),
                                          nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * 7 * 7, 10))

    def forward(self, x):
        return self.classifier(self.conv_block_2(self.conv_block_1(x)))


MODELS = {"v0": model_v0, "v1": model_v1, "tinyvgg": TinyVGG}


def binary_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 32), nn.ReLU(), nn.Linear(32, 1), nn.Dropout(0.25), nn.Sigmoid())


def generator():
    return nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 1024),
                         nn.ReLU(), nn.Linear(1024, 784), nn.Tanh())


def discriminator():
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1024, 512), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 1),
                         nn.Sigmoid())


# ---- loops --------------------------------------------------------------------------------------------
def dataloader_order(n):
    """The order torch.utils.data.DataLoader(shuffle=True) gives one epoch (PyTorch 1.13): the iterator draws
    its base seed, RandomSampler a seed for its own generator, then randperm. ctnn's DataLoader with
    torch_order draws the same, so both sides train on the same batches from the same initial weights."""
    torch.empty((), dtype=torch.int64).random_()
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randperm(n, generator=g)


def batches(x, y, batch_size, shuffle, torch_order=False):
    n = x.shape[0]
    if torch_order and shuffle:
        idx = dataloader_order(n)
    else:
        idx = torch.randperm(n) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        j = idx[i:i + batch_size]
        yield x[j], y[j]


def classifier_accuracy(pred, y):
    return (pred.argmax(dim=1) == y).sum().item() * 100.0 / y.shape[0]


def binary_accuracy(pred, y):
    return ((pred > 0.5).float() == y).sum().item() * 100.0 / y.shape[0]


def train_epoch(model, x, y, batch_size, loss_fn, optimizer, accuracy, torch_order=False):
    model.train()
    loss_sum = acc_sum = 0.0
    n = 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, torch_order=torch_order):
        pred = model(xb)
        loss = loss_fn(pred, yb)
        loss_sum += loss.item()
        acc_sum += accuracy(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n += 1
    return loss_sum / n, acc_sum / n


def test_epoch(model, x, y, batch_size, loss_fn, accuracy, shuffle=False):
    model.eval()
    acc_sum = 0.0
    n = 0
    with torch.inference_mode():
        for xb, yb in batches(x, y, batch_size, shuffle=shuffle):
            pred = model(xb)
            loss_fn(pred, yb).item()
            acc_sum += accuracy(pred, yb)
            n += 1
    return acc_sum / n  # averaged per batch, as the tutorials (and ctnn's test_step) do


def limit(x, y, n):
    return (x[:n], y[:n]) if n and n < x.shape[0] else (x, y)


def run_classifier(args):
    xtr, ytr = load_fashion(args.data, True)
    xte, yte = load_fashion(args.data, False)
    full = xtr.shape[0]
    xtr, ytr = limit(xtr, ytr, args.train_limit)
    torch.manual_seed(42)
    model = MODELS[args.workload]()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(42)  # as the tutorial, before its loop; then the DataLoader's draws
    seconds = 0.0
    for _ in range(args.epochs):
        t = time.perf_counter()
        train_epoch(model, xtr, ytr, 32, loss_fn, optimizer, classifier_accuracy, torch_order=True)
        seconds += time.perf_counter() - t
    acc = test_epoch(model, xte, yte, 32, loss_fn, classifier_accuracy)
    return seconds / args.epochs * full / xtr.shape[0], acc


def run_binary(args):
    xtr, ytr = load_fashion(args.data, True)
    xte, yte = load_fashion(args.data, False)

    def select(x, y):
        keep = (y == 0) | (y == 9)
        return x[keep] * 2.0 - 1.0, (y[keep] == 9).float().unsqueeze(1)  # Normalize((0.5,), (0.5,)); 0/1

    xtr, ytr = select(xtr, ytr)
    xte, yte = select(xte, yte)
    full = xtr.shape[0]
    xtr, ytr = limit(xtr, ytr, args.train_limit)
    torch.manual_seed(42)
    model = binary_model()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = 0.0
    for _ in range(args.epochs):
        t = time.perf_counter()
        train_epoch(model, xtr, ytr, 64, loss_fn, optimizer, binary_accuracy)
        seconds += time.perf_counter() - t
    acc = test_epoch(model, xte, yte, 64, loss_fn, binary_accuracy, shuffle=True)
    return seconds / args.epochs * full / xtr.shape[0], acc


def run_gan(args):
    xtr, _ = load_fashion(args.data, True)
    xtr = (xtr * 2.0 - 1.0).reshape(-1, 784)
    torch.manual_seed(42)
    G, D = generator(), discriminator()
    loss_fn = nn.BCELoss()
    optimD = torch.optim.Adam(D.parameters(), lr=1e-4)
    optimG = torch.optim.Adam(G.parameters(), lr=1e-4)
    bs = 32
    ones, zeros = torch.ones(bs, 1), torch.zeros(bs, 1)
    idx = torch.randperm(xtr.shape[0])
    warmup = 5

    def step(k):
        real = xtr[idx[(k * bs) % (xtr.shape[0] - bs):][:bs]]
        loss = loss_fn(D(real), ones)  # train D on real
        optimD.zero_grad()
        loss.backward()
        optimD.step()
        fake = G(torch.randn(bs, 100))
        loss = loss_fn(D(fake.detach()), zeros)  # train D on fake
        optimD.zero_grad()
        loss.backward()
        optimD.step()
        loss = loss_fn(D(fake), ones)  # train G through D
        optimG.zero_grad()
        loss.backward()
        optimG.step()

    for k in range(warmup):
        step(k)
    t = time.perf_counter()
    for k in range(args.steps):
        step(warmup + k)
    seconds = time.perf_counter() - t
    return seconds / args.steps * GAN_STEPS_PER_EPOCH, None


def run_infer(args):
    torch.set_num_threads(1)
    xte, _ = load_fashion(args.data, False)
    torch.manual_seed(42)
    model = model_v0() if args.workload == "infer_v0" else TinyVGG()
    model.eval()
    x = xte[:1].clone()
    times = []
    with torch.inference_mode():
        for _ in range(200):
            model(x)
        for _ in range(args.reps):
            t = time.perf_counter_ns()
            model(x)
            times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", choices=["v0", "v1", "tinyvgg", "binary", "gan", "infer_v0", "infer_tinyvgg"])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0, help="first N training images; time scaled to the full set")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=200, help="gan: timed steps (after 5 warm-up steps)")
    p.add_argument("--reps", type=int, default=5000, help="infer_*: timed forwards")
    p.add_argument("--data", default=DATA)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    out = {"workload": args.workload, "seconds_per_epoch": None, "test_acc": None}
    if args.workload in MODELS:
        out["seconds_per_epoch"], out["test_acc"] = run_classifier(args)
    elif args.workload == "binary":
        out["seconds_per_epoch"], out["test_acc"] = run_binary(args)
    elif args.workload == "gan":
        out["seconds_per_epoch"], _ = run_gan(args)
    else:
        out["latency_us"] = run_infer(args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out["threads"] = torch.get_num_threads()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
