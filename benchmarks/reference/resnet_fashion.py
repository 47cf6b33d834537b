#!/usr/bin/python3
"""The PyTorch twin of examples/resnet_fashion.cpp: the same ResNet-8 (torchvision's BasicBlock, written
out: torchvision is not installed here), SGD(momentum=0.9, weight_decay=5e-4), CosineAnnealingLR over the
epochs, RandomCrop(28, padding=2) + RandomHorizontalFlip on the training images (as tensor ops: the
images are read straight from the idx files, without torchvision), batches of 128 (test 256).

    /usr/bin/python3 benchmarks/reference/resnet_fashion.py [--epochs 5] [--lr 0.1] [--train-limit N]
                                                            [--test-limit N] [--threads 1] [--data DIR]

Prints one line per epoch in the format of the C++ example, with the training time of the epoch.
"""
import argparse
import gzip
import math
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root, train):
    prefix = "train" if train else "t10k"
    find = lambda stem: next(os.path.join(root, stem + ext) for ext in ("", ".gz")
                             if os.path.exists(os.path.join(root, stem + ext)))
    x = read_idx(find(prefix + "-images-idx3-ubyte"))
    y = read_idx(find(prefix + "-labels-idx1-ubyte"))
    return torch.from_numpy(x.copy()).float().div_(255).unsqueeze(1), torch.from_numpy(y.copy()).long()


def augment(x, generator):
    """RandomCrop(28, padding=2) then RandomHorizontalFlip(), per image."""
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2))
    tops = torch.randint(0, 5, (n,), generator=generator)
    lefts = torch.randint(0, 5, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        img = padded[i, :, tops[i]:tops[i] + 28, lefts[i]:lefts[i] + 28]
        out[i] = img.flip(-1) if flips[i] else img
    return out


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.avgpool = nn.AvgPool2d(7)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data", default=os.environ.get("CTNN_DATA", "/usr/share/datasets/fashion-mnist"))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, True)
    xte, yte = load(a.data, False)
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    if a.test_limit:
        xte, yte = xte[:a.test_limit], yte[:a.test_limit]
    print("Train samples: %d | Test samples: %d | threads: %d" % (len(xtr), len(xte), torch.get_num_threads()))
    model = ResNet8()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs)
    g = torch.Generator().manual_seed(a.seed + 1)
    total = 0.0
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        loss_sum = acc_sum = batches = 0
        for i in range(0, len(xtr), 128):
            idx = order[i:i + 128]
            x, y = augment(xtr[idx], g), ytr[idx]
            logits = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            acc_sum += (logits.argmax(1) == y).float().mean().item() * 100
            batches += 1
        seconds = time.perf_counter() - start
        total += seconds
        model.eval()
        tl = ta = tb = 0
        with torch.no_grad():
            for i in range(0, len(xte), 256):
                logits = model(xte[i:i + 256])
                tl += loss_fn(logits, yte[i:i + 256]).item()
                ta += (logits.argmax(1) == yte[i:i + 256]).float().mean().item() * 100
                tb += 1
        lr = sched.get_last_lr()[0]
        sched.step()
        print("Epoch: %d | lr: %.5f | train_loss: %.4f | train_acc: %.2f%% | test_loss: %.4f | test_acc: %.2f%% | "
              "epoch time: %.1f s" % (epoch, lr, loss_sum / batches, acc_sum / batches, tl / tb, ta / tb, seconds),
              flush=True)
    print("Final test accuracy: %.2f%% | mean epoch time: %.1f s (training only)" % (ta / tb, total / a.epochs))


if __name__ == "__main__":
    main()
