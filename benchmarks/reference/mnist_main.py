#!/usr/bin/python3
"""The PyTorch side of examples/mnist_examples.cpp: pytorch/examples mnist/main.py's network, training
and printed lines, on Fashion-MNIST read straight from the idx files (torchvision is not installed
here; ToTensor + Normalize((0.1307,), (0.3081,)) become one tensor expression).

    /usr/bin/python3 benchmarks/reference/mnist_main.py [--epochs 14] [--batch-size 64]
        [--test-batch-size 1000] [--lr 1.0] [--gamma 0.7] [--dry-run] [--seed 1] [--log-interval 10]
        [--train-limit N] [--test-limit N] [--threads 2] [--data DIR]

Ends with "Time: <s> s for <n> epochs (<t> threads)", the line the C++ example ends with.
"""
import argparse
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_fashion import load  # noqa: E402  (the idx reader, images in [0, 1] as [N, 1, 28, 28])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return F.log_softmax(self.fc2(self.dropout2(x)), dim=1)


def train_epoch(args, model, loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(loader.dataset), 100. * batch_idx / len(loader), loss.item()),
                flush=True)
            if args.dry_run:
                break


def test_epoch(model, loader):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            total += F.nll_loss(output, target, reduction="sum").item()
            correct += output.argmax(dim=1).eq(target).sum().item()
    n = len(loader.dataset)
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
        total / n, correct, n, 100. * correct / n), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--test-batch-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--gamma", type=float, default=0.7)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-interval", type=int, default=10)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.environ.get("CTNN_DATA", "/usr/share/datasets/fashion-mnist"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def dataset(train, limit):
        x, y = load(args.data, train)
        if limit:
            x, y = x[:limit], y[:limit]
        return TensorDataset((x - 0.1307) / 0.3081, y)

    train_loader = DataLoader(dataset(True, args.train_limit), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(dataset(False, args.test_limit), batch_size=args.test_batch_size)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.gamma)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_epoch(args, model, train_loader, optimizer, epoch)
        test_epoch(model, test_loader)
        scheduler.step()
    print("Time: %.1f s for %d epochs (%d threads)" % (time.perf_counter() - start, args.epochs,
                                                       torch.get_num_threads()))


if __name__ == "__main__":
    main()
