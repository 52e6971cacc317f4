"""PyTorch peer of MAE Studio's TF.js engine, for bench/train.ts.

The project's PyTorch MAE (app/handoff/torch/mae_model.py: models_mae.py step for step, the
same architecture as app/mae), trained with AdamW(0.9, 0.95, wd 0.05) and random masking.
Prints one JSON line: {"msPerStep": ..., ...}.

Usage: python3 bench/mae_torch.py --img 224 --patch 16 --chans 3 --dim 192 --depth 12 \
         --heads 3 --dec-dim 512 --dec-depth 8 --dec-heads 16 --batch 8 --steps 3 --threads 2
         [--device cpu|cuda|mps|auto]   (auto: cuda, then mps, else cpu; bench/gpu.ts)
"""
import argparse
import json
import math
import time

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "app", "handoff", "torch"))
from mae_model import Mae, random_shuffle, uses_weight_decay  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    for name, default in [("img", 224), ("patch", 16), ("chans", 3), ("dim", 192), ("depth", 12), ("heads", 3),
                          ("dec-dim", 512), ("dec-depth", 8), ("dec-heads", 16), ("batch", 8), ("steps", 3),
                          ("warmup", 1), ("threads", 2)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps", "auto"])
    a = parser.parse_args()
    device = a.device
    if device == "auto":
        mps = getattr(torch.backends, "mps", None)
        device = "cuda" if torch.cuda.is_available() else "mps" if mps is not None and mps.is_available() else "cpu"
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = Mae(dict(img=a.img, patch=a.patch, chans=a.chans, dim=a.dim, depth=a.depth, heads=a.heads,
                     dec_dim=a.dec_dim, dec_depth=a.dec_depth, dec_heads=a.dec_heads, mlp=4))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if uses_weight_decay(n, p)]
    no_decay = [p for n, p in named if not uses_weight_decay(n, p)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1.5e-4 * a.batch / 256, betas=(0.9, 0.95))
    model.to(device)
    imgs = torch.randn(a.batch, a.chans, a.img, a.img, device=device)

    def step():
        loss = model(imgs, random_shuffle(a.batch, (a.img // a.patch) ** 2).to(device), 0.75)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    started = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    ms = (time.perf_counter() - started) * 1000 / a.steps
    print(json.dumps({"msPerStep": ms, "imagesPerSecond": a.batch * 1000 / ms, "loss": loss,
                      "torch": torch.__version__, "threads": torch.get_num_threads(), "device": device,
                      "deviceName": torch.cuda.get_device_name(0) if device == "cuda" else device}))


if __name__ == "__main__":
    main()
