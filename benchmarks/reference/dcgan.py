#!/usr/bin/python3
"""The PyTorch twin of examples/dcgan.cpp: pytorch/examples' dcgan/main.py on Fashion-MNIST 28x28 with the
same two networks (generator 1 -> 7 -> 14 -> 28 through ConvTranspose2d + BatchNorm2d + ReLU, Tanh;
discriminator Conv2d + LeakyReLU(0.2) with BatchNorm2d on the middle layer, Sigmoid), bias-free
convolutions, main.py's weights_init, BCELoss, Adam(lr=2e-4, betas=(0.5, 0.999)), batches of 64 (the
last partial batch dropped), images scaled to [-1, 1]. The images are read straight from the idx files
(torchvision is not installed here).

    /usr/bin/python3 benchmarks/reference/dcgan.py [--epochs 5] [--train-limit N] [--log-every 50]
                                                   [--threads 1] [--seed 999] [--data DIR] [--out DIR]

Prints main.py's lines and one line per epoch in the format of the C++ example; with --out, writes the
same 8 x 8 grids of the fixed noise batch (fake_samples_epoch_<n>.png) to compare with the C++ ones.
"""
import argparse
import gzip
import os
import struct
import time
import zlib

import numpy as np
import torch
from torch import nn

NZ, NGF, NDF, BATCH = 100, 64, 64, 64


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_images(root):
    path = next(os.path.join(root, "train-images-idx3-ubyte" + ext) for ext in ("", ".gz")
                if os.path.exists(os.path.join(root, "train-images-idx3-ubyte" + ext)))
    x = torch.from_numpy(read_idx(path).copy()).float().div_(255).unsqueeze(1)
    return (x - 0.5) / 0.5  # Normalize((0.5,), (0.5,))


def write_grid(images, path, pad=2):
    """64 images in [-1, 1] as an 8 x 8 grayscale PNG with black borders (vutils.save_image without PIL)."""
    n, side = 8, 28 + pad
    grid = np.zeros((n * side + pad, n * side + pad), dtype=np.uint8)
    pixels = ((images[:64, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    for k, img in enumerate(pixels):
        r, c = divmod(k, n)
        grid[pad + r * side:pad + r * side + 28, pad + c * side:pad + c * side + 28] = img

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    h, w = grid.shape
    raw = b"".join(b"\0" + grid[y].tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def generator():
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 2, 7, 1, 0, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
        nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False), nn.Tanh())


def discriminator():
    return nn.Sequential(
        nn.Conv2d(1, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, 1, 7, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten())


def weights_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--train-limit", type=int, default=int(os.environ.get("CTNN_TRAIN_LIMIT", "0") or 0))
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=999)
    p.add_argument("--data", default=os.environ.get("CTNN_DATA", "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--out", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = load_images(a.data)
    if a.train_limit:
        x = x[:a.train_limit]
    batches = len(x) // BATCH
    print("Train samples: %d | batches of %d: %d | threads: %d" % (len(x), BATCH, batches, torch.get_num_threads()))
    netG, netD = generator(), discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label = torch.ones(BATCH, 1)
    fake_label = torch.zeros(BATCH, 1)
    fixed_noise = torch.randn(64, NZ, 1, 1)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
    total = 0.0
    for epoch in range(a.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        sum_d = sum_g = 0.0
        for i in range(batches):
            real = x[order[i * BATCH:(i + 1) * BATCH]]
            netD.zero_grad()
            output = netD(real)
            errD_real = criterion(output, real_label)
            errD_real.backward()
            D_x = output.mean().item()
            fake = netG(torch.randn(BATCH, NZ, 1, 1))
            output = netD(fake.detach())
            errD_fake = criterion(output, fake_label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            optimizerD.step()
            netG.zero_grad()
            output = netD(fake)
            errG = criterion(output, real_label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            errD = (errD_real + errD_fake).item()
            sum_d += errD
            sum_g += errG.item()
            if i % a.log_every == 0 or i + 1 == batches:
                print("[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"
                      % (epoch, a.epochs, i, batches, errD, errG.item(), D_x, D_G_z1, D_G_z2), flush=True)
        seconds = time.perf_counter() - start
        total += seconds
        if a.out:
            with torch.no_grad():
                write_grid(netG(fixed_noise), os.path.join(a.out, "fake_samples_epoch_%d.png" % epoch))
        print("Epoch %d/%d | mean Loss_D: %.4f | mean Loss_G: %.4f | epoch time: %.1f s"
              % (epoch + 1, a.epochs, sum_d / batches, sum_g / batches, seconds), flush=True)
    print("Train time on cpu: %.3f seconds" % total)


if __name__ == "__main__":
    main()
