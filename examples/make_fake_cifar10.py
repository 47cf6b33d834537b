#!/usr/bin/env python3
"""Writes small CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin) for tests: each record
is one label byte and 3072 pixel bytes (CHW). Airplanes (0) are bright, birds (2) dark, the rest in
between, so a model can learn something. Deterministic."""
import argparse
import pathlib
import random

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("out", type=pathlib.Path)
parser.add_argument("--per-batch", type=int, default=100)
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
rng = random.Random(0)
names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
for name in names:
    records = bytearray()
    for _ in range(args.per_batch):
        label = rng.randrange(10)
        base = {0: 200, 2: 50}.get(label, 128)
        records.append(label)
        records.extend(max(0, min(255, base + rng.randrange(-40, 41))) for _ in range(3072))
    (args.out / name).write_bytes(bytes(records))
print(f"wrote {len(names)} files of {args.per_batch} records to {args.out}")
