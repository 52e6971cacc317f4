"""The MAE of He et al. in PyTorch under the official `models_mae.py` parameter names, as MAE
Studio trains it: fixed 2-D sin-cos positions, pre-norm ViT blocks (LayerNorm eps 1e-6, exact
GELU), encoder on the visible patches, mask tokens and unshuffle, norm-pix MSE on masked patches.

Used by MAE Studio's hand-off job (train_mae.py) and test fixtures; a state dict of `Mae` loads
into the official `MaskedAutoencoderViT` with strict=True and the reverse.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sincos(dim, side):
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float64), torch.arange(side, dtype=torch.float64),
                                indexing="ij")

    def encode(pos):
        angles = pos.reshape(-1, 1) * omega.reshape(1, -1)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    table = torch.cat([encode(cols), encode(rows)], dim=1)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), table], dim=0).float().unsqueeze(0)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(chans, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Mae(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        side = c["img"] // c["patch"]
        self.patch_embed = PatchEmbed(c["patch"], c["chans"], c["dim"])
        self.cls_token = nn.Parameter(torch.randn(1, 1, c["dim"]) * 0.02)
        self.pos_embed = nn.Parameter(sincos(c["dim"], side), requires_grad=False)
        self.blocks = nn.ModuleList([Block(c["dim"], c["heads"], c["mlp"]) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(c["dim"], eps=1e-6)
        self.decoder_embed = nn.Linear(c["dim"], c["dec_dim"])
        self.mask_token = nn.Parameter(torch.randn(1, 1, c["dec_dim"]) * 0.02)
        self.decoder_pos_embed = nn.Parameter(sincos(c["dec_dim"], side), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            [Block(c["dec_dim"], c["dec_heads"], c["mlp"]) for _ in range(c["dec_depth"])])
        self.decoder_norm = nn.LayerNorm(c["dec_dim"], eps=1e-6)
        self.decoder_pred = nn.Linear(c["dec_dim"], c["patch"] ** 2 * c["chans"])

    def forward(self, imgs, ids_shuffle, mask_ratio, target=None):
        return self.loss(imgs, ids_shuffle, mask_ratio, target)

    def patchify(self, imgs):
        p = self.c["patch"]
        h = imgs.shape[2] // p
        x = imgs.reshape(imgs.shape[0], imgs.shape[1], h, p, h, p)
        x = torch.einsum("nchpwq->nhwpqc", x)
        return x.reshape(imgs.shape[0], h * h, p * p * imgs.shape[1])

    def encode_all(self, imgs):
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def loss(self, imgs, ids_shuffle, mask_ratio, target=None):
        """Norm-pix MSE on the masked patches; ids_shuffle [N, L] puts the kept patches first.

        `target`: images whose patches are regressed instead of the input's (Deblurring MAE: the sharp images).
        """
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:, :]
        n, length, d = x.shape
        keep = min(length - 1, max(1, round(length * (1 - mask_ratio))))
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).repeat(1, 1, d))
        mask = torch.ones(n, length)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(n, -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.decoder_embed(self.norm(x))
        tokens = torch.cat([x[:, 1:, :], self.mask_token.repeat(n, length + 1 - x.shape[1], 1)], dim=1)
        tokens = torch.gather(tokens, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], tokens], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:, :]
        target = self.patchify(imgs if target is None else target)
        if self.c.get("norm_pix", True):
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        per_patch = ((pred - target) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum()




def gaussian_blur(imgs, sigma):
    """Deblurring MAE's input: scipy.ndimage.gaussian_filter per channel (truncate 4, mode 'reflect':
    the edge sample repeats), computed in float64 as the studio's blur.ts."""
    radius = int(math.floor(4 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * t * t / (sigma * sigma))
    kernel = (kernel / kernel.sum()).to(imgs.device)

    def along(x, dim):
        n = x.shape[dim]
        index = (torch.arange(n)[:, None] + torch.arange(-radius, radius + 1)[None, :]) % (2 * n)
        index = torch.where(index >= n, 2 * n - 1 - index, index).to(imgs.device)
        taps = x.movedim(dim, -1)[..., index]  # [..., n, taps]
        return (taps * kernel).sum(dim=-1).movedim(-1, dim)

    return along(along(imgs.double(), 3), 2).to(imgs.dtype)


def random_shuffle(batch, length, generator=None):
    """The paper's per-sample random masking: argsort of uniform noise (kept patches first)."""
    return torch.argsort(torch.rand(batch, length, generator=generator), dim=1)


def uses_weight_decay(name, param):
    """AdamW groups as MAE Studio (timm convention): no decay on biases, norms, tokens, positions."""
    if name.endswith(".bias") or param.ndim <= 1:
        return False
    return name not in ("cls_token", "mask_token", "pos_embed", "decoder_pos_embed")
