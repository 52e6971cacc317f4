"""PyTorch peer of MAE Studio's TF.js engine, for bench/train.ts.

A compact MAE (He et al. 2021) written for this benchmark: the same architecture as
app/mae (Conv2d patch embedding, fixed 2-D sin-cos positions, pre-norm ViT blocks with
exact GELU, visible-only encoder, mask tokens + unshuffle, norm-pix MSE on masked patches),
trained with AdamW(0.9, 0.95, wd 0.05). Prints one JSON line: {"msPerStep": ..., ...}.

Usage: python3 bench/mae_torch.py --img 224 --patch 16 --chans 3 --dim 192 --depth 12 \
         --heads 3 --dec-dim 512 --dec-depth 8 --dec-heads 16 --batch 8 --steps 3 --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sincos_table(dim, side):
    """[1 + side*side, dim] with a zero cls row; columns first, rows second."""
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float64), torch.arange(side, dtype=torch.float64), indexing="ij")

    def encode(pos):
        angles = pos.reshape(-1, 1) * omega.reshape(1, -1)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    table = torch.cat([encode(cols), encode(rows)], dim=1)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), table], dim=0).float()


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, x):
        batch, tokens, dim = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attention = (q @ k.transpose(-2, -1)) * (dim // self.heads) ** -0.5
        mixed = (attention.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, tokens, dim)
        x = x + self.proj(mixed)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Mae(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        side = a.img // a.patch
        self.num_patches = side * side
        self.patch_embed = nn.Conv2d(a.chans, a.dim, a.patch, a.patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, a.dim) * 0.02)
        self.register_buffer("pos", sincos_table(a.dim, side).unsqueeze(0))
        self.blocks = nn.ModuleList([Block(a.dim, a.heads, 4) for _ in range(a.depth)])
        self.norm = nn.LayerNorm(a.dim, eps=1e-6)
        self.decoder_embed = nn.Linear(a.dim, a.dec_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, a.dec_dim) * 0.02)
        self.register_buffer("dec_pos", sincos_table(a.dec_dim, side).unsqueeze(0))
        self.decoder_blocks = nn.ModuleList([Block(a.dec_dim, a.dec_heads, 4) for _ in range(a.dec_depth)])
        self.decoder_norm = nn.LayerNorm(a.dec_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(a.dec_dim, a.patch * a.patch * a.chans)

    def targets(self, imgs):
        b, c, h, w = imgs.shape
        p = self.a.patch
        x = imgs.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (h // p) * (w // p), c * p * p)

    def forward(self, imgs, mask_ratio=0.75):
        x = self.patch_embed(imgs).flatten(2).transpose(1, 2) + self.pos[:, 1:]
        batch, length, dim = x.shape
        keep = round(length * (1 - mask_ratio))
        shuffle = torch.rand(batch, length).argsort(dim=1)
        restore = shuffle.argsort(dim=1)
        x = torch.gather(x, 1, shuffle[:, :keep, None].expand(-1, -1, dim))
        mask = torch.ones(batch, length)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, restore)
        x = torch.cat([(self.cls_token + self.pos[:, :1]).expand(batch, -1, -1), x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.decoder_embed(self.norm(x))
        tokens = torch.cat([x[:, 1:], self.mask_token.expand(batch, length - keep, -1)], dim=1)
        tokens = torch.gather(tokens, 1, restore[:, :, None].expand(-1, -1, x.shape[2]))
        x = torch.cat([x[:, :1], tokens], dim=1) + self.dec_pos
        for blk in self.decoder_blocks:
            x = blk(x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:]
        target = self.targets(imgs)
        mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6) ** 0.5
        return (((pred - target) ** 2).mean(dim=-1) * mask).sum() / mask.sum()


def main():
    parser = argparse.ArgumentParser()
    for name, default in [("img", 224), ("patch", 16), ("chans", 3), ("dim", 192), ("depth", 12), ("heads", 3),
                          ("dec-dim", 512), ("dec-depth", 8), ("dec-heads", 16), ("batch", 8), ("steps", 3),
                          ("warmup", 1), ("threads", 2)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    a = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = Mae(a)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "token" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1 or "token" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1.5e-4 * a.batch / 256, betas=(0.9, 0.95))
    imgs = torch.randn(a.batch, a.chans, a.img, a.img)

    def step():
        loss = model(imgs)
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
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
