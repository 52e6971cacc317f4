"""CA-MAE (Kraus et al. 2024) in PyTorch under Recursion's module and parameter names, written for
MAE Studio's parity tests and its whole-model export (recursionpharma/maes_microscopy was read, not
copied; it ships the encoder and decoder modules but no stitched model or training loop).

- Encoder: `MAEEncoder.vit_backbone` is a timm `VisionTransformer` turned channel-agnostic
  (vit.py `channel_agnostic_vit`): `patch_embed.proj` is one Conv2d(1, D, p, p) applied to every
  channel, tokens channel-major (channel 0's L patches, then channel 1's ...), `pos_embed`
  [1, 1 + max_in_chans * L, D] is the 2-D sin-cos table repeated per channel with a zero cls row,
  sliced to the tokens present (so the encoder takes any channel count up to max_in_chans).
  Blocks are timm's default `Block` (qkv bias, LayerNorm eps 1e-6, exact GELU), as MAE Studio
  trains; the released Phenom models use ParallelScalingBlock with qk-norm and LayerScale.
- Decoder: `ChannelTokenDecoder` is Recursion's `MAEDecoder` (mask_token, blocks, norm,
  pos_embeddings) with the modality tokens of their `CAMAEDecoder` (`placeholder` for the cls row,
  `modality_tokens.c` tiled over channel c's tokens) added to the positions. Their CAMAEDecoder
  then runs a shared cross-attention and one block stack per channel and drops the final norm;
  MAE Studio runs one block stack over all tokens and keeps the norm.
- Whole model `CaMae`: self-standardisation (InstanceNorm2d without affine, eps 1e-5), the
  encoder, `decoder_embed` (the encoder-decoder projection their README asks for but does not
  name; models_mae.py's name), the decoder, `decoder_pred` (p*p per token) and the loss: norm-pix
  MSE on the masked channel tokens plus weight x mean |abs(fft2(pred)) - abs(fft2(target))| over
  the whole unflattened images (their loss.py FourierLoss, L1, mean reduction).

Position tables differ in one respect: Recursion's generator orders the halves
[sin(row), cos(row), sin(col), cos(col)]; models_mae.py and MAE Studio order them
[sin(col), cos(col), sin(row), cos(row)]. The table is a state-dict tensor, so loading a MAE Studio
export replaces the generated one and the model computes what it was trained with.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "handoff", "torch"))
from mae_model import Block, sincos  # noqa: E402  (the project's PyTorch MAE blocks and table)


def recursion_sincos(dim, side, channels):
    """Recursion's table (vit.py generate_2d_sincos_pos_embeddings): halves [sin h, cos h, sin w, cos w]."""
    positions = torch.arange(side, dtype=torch.float32)
    rows, cols = torch.meshgrid(positions, positions, indexing="ij")
    omega = 1.0 / (10000.0 ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4)))
    h = torch.outer(rows.flatten(), omega)
    w = torch.outer(cols.flatten(), omega)
    table = torch.cat([h.sin(), h.cos(), w.sin(), w.cos()], dim=1)[None].repeat(1, channels, 1)
    return torch.cat([torch.zeros(1, 1, dim), table], dim=1)


def studio_channel_sincos(dim, side, channels):
    """MAE Studio's table (models_mae.py halves) repeated per channel, zero cls row: [1, 1 + C*L, D]."""
    table = sincos(dim, side)
    return torch.cat([table[:, :1], table[:, 1:].repeat(1, channels, 1)], dim=1)


def flatten_images(imgs, patch):
    """[N, C, H, W] -> channel tokens [N, C*L, p*p] (mae_utils.flatten_images, channel_agnostic=True)."""
    n, c, h, _ = imgs.shape
    side = h // patch
    x = imgs.reshape(n, c, side, patch, side, patch).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(n, c * side * side, patch * patch)


def unflatten_tokens(tokens, patch, channels):
    """[N, C*L, p*p] -> [N, C, H, W] (mae_utils.unflatten_tokens, channel_agnostic=True)."""
    n = tokens.shape[0]
    side = int(round((tokens.shape[1] // channels) ** 0.5))
    x = tokens.reshape(n, channels, side, side, patch, patch).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(n, channels, side * patch, side * patch)


class ChannelAgnosticPatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        x = torch.stack([self.proj(x[:, c:c + 1]) for c in range(x.shape[1])], dim=2)  # [N, D, C, h, w]
        return x.flatten(2).transpose(1, 2)  # [N, C*L, D]


class ChannelAgnosticViT(nn.Module):
    """timm VisionTransformer state-dict names: patch_embed, cls_token, pos_embed, blocks, norm."""

    def __init__(self, img, patch, dim, depth, heads, mlp, max_in_chans):
        super().__init__()
        self.embed_dim = dim
        self.patch_embed = ChannelAgnosticPatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(recursion_sincos(dim, img // patch, max_in_chans), requires_grad=False)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def _pos_embed(self, x):
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed[:, :x.shape[1]]

    def forward_features(self, x):
        return self.norm(self.blocks(self._pos_embed(self.patch_embed(x))))


class MAEEncoder(nn.Module):
    def __init__(self, vit_backbone):
        super().__init__()
        self.vit_backbone = vit_backbone

    def forward(self, x):
        return self.vit_backbone.forward_features(x)

    def forward_masked(self, x, ids_shuffle, keep):
        """ids_shuffle [N, C*L] lists the kept tokens first (their masking.py with given noise)."""
        vit = self.vit_backbone
        x = vit._pos_embed(vit.patch_embed(x))
        tokens = x[:, 1:]
        kept = torch.gather(tokens, 1, ids_shuffle[:, :keep, None].repeat(1, 1, tokens.shape[2]))
        return vit.norm(vit.blocks(torch.cat([x[:, :1], kept], dim=1)))


class ChannelTokenDecoder(nn.Module):
    """MAEDecoder names (mask_token, blocks, norm, pos_embeddings) plus CAMAEDecoder's modality tokens."""

    def __init__(self, channels, tokens_per_channel, dim, depth, heads, mlp, pos_embeddings):
        super().__init__()
        self.tokens_per_channel = tokens_per_channel
        self.pos_embeddings = nn.Parameter(pos_embeddings, requires_grad=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.placeholder = nn.Parameter(torch.zeros(1, 1, dim), requires_grad=False)
        self.modality_tokens = nn.ParameterList([nn.Parameter(torch.zeros(1, 1, dim)) for _ in range(channels)])
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        modality = torch.cat([self.placeholder] + [m.repeat(1, self.tokens_per_channel, 1)
                                                   for m in self.modality_tokens], dim=1)
        return self.norm(self.blocks(x + self.pos_embeddings + modality))

    def forward_masked(self, x, ids_restore):
        masked = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
        tokens = torch.cat([x[:, 1:], masked], dim=1)
        tokens = torch.gather(tokens, 1, ids_restore[:, :, None].repeat(1, 1, x.shape[2]))
        return self.forward(torch.cat([x[:, :1], tokens], dim=1))


class CaMae(nn.Module):
    """c: img, patch, chans, dim, depth, heads, dec_dim, dec_depth, dec_heads, mlp, norm_pix, fourier."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        side = c["img"] // c["patch"]
        self.encoder = MAEEncoder(
            ChannelAgnosticViT(c["img"], c["patch"], c["dim"], c["depth"], c["heads"], c["mlp"], c["chans"]))
        self.decoder_embed = nn.Linear(c["dim"], c["dec_dim"])
        self.decoder = ChannelTokenDecoder(c["chans"], side * side, c["dec_dim"], c["dec_depth"], c["dec_heads"],
                                           c["mlp"], recursion_sincos(c["dec_dim"], side, c["chans"]))
        self.decoder_pred = nn.Linear(c["dec_dim"], c["patch"] ** 2)

    @staticmethod
    def self_standardise(imgs):
        return F.instance_norm(imgs, eps=1e-5)

    def features(self, imgs):
        """Encoder tokens [N, 1 + C*L, D] of raw images (self-standardised here, as in training)."""
        return self.encoder(self.self_standardise(imgs))

    def loss(self, imgs, ids_shuffle, keep):
        x = self.self_standardise(imgs)
        n, chans = x.shape[:2]
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        latent = self.encoder.forward_masked(x, ids_shuffle, keep)
        hidden = self.decoder.forward_masked(self.decoder_embed(latent), ids_restore)
        pred = self.decoder_pred(hidden)[:, 1:]  # [N, C*L, p*p]
        target = flatten_images(x, self.c["patch"])
        if self.c.get("norm_pix", True):
            target = (target - target.mean(dim=-1, keepdim=True)) / (target.var(dim=-1, keepdim=True) + 1e-6) ** 0.5
        mask = torch.ones(n, target.shape[1])
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        loss = (((pred - target) ** 2).mean(dim=-1) * mask).sum() / mask.sum()
        weight = self.c.get("fourier", 0.0)
        if weight > 0:
            magnitude = [torch.fft.fft2(unflatten_tokens(t, self.c["patch"], chans)).abs() for t in (pred, target)]
            loss = loss + weight * (magnitude[0] - magnitude[1]).abs().mean()
        return loss
