"""A 3-D Masked Autoencoder in PyTorch, as MAE Studio's 3-D MAE (app/mae/volume3d/): cuboid patches
embedded by a Conv3d (stride = kernel), fixed 3-D sin-cos positions, the 2-D MAE's pre-norm ViT blocks
(mae_model.Block), encoder on the visible patches, mask tokens and unshuffle, norm-pix MSE on the
masked patches. `VisionTransformer3d` is the encoder alone; `Mae3d` adds the decoder, so an encoder
state dict is the full one without `decoder_*` and `mask_token`.

Layouts: volumes [N, C, D, H, W]; tokens row-major over (slice, row, column); patch values ordered
(channel, slice, row, column), i.e. the flattening of the Conv3d weight [dim, C, pd, ph, pw].
"""
import torch
import torch.nn as nn

from mae_model import Block


def sincos_1d(dim, positions):
    half = dim // 2
    omega = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float64) / half))
    angles = positions.reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_3d(dim, grid):
    """[1, 1 + D'H'W', dim]: a zero cls row, then per token [column | row | slice | zero tail]."""
    part = 2 * (dim // 6)
    z, y, x = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in grid], indexing="ij")
    table = torch.zeros(z.numel(), dim, dtype=torch.float64)
    table[:, :part] = sincos_1d(part, x)
    table[:, part:2 * part] = sincos_1d(part, y)
    table[:, 2 * part:3 * part] = sincos_1d(part, z)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), table], dim=0).float().unsqueeze(0)


class PatchEmbed3d(nn.Module):
    def __init__(self, patch, chans, dim):
        super().__init__()
        self.proj = nn.Conv3d(chans, dim, tuple(patch), tuple(patch))

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer3d(nn.Module):
    """The 3-D MAE's encoder: forward(volumes) -> tokens [N, 1 + L, dim] after the final norm."""

    def __init__(self, volume_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio):
        super().__init__()
        self.patch_size = list(patch_size)
        self.grid = [v // p for v, p in zip(volume_size, patch_size)]
        self.patch_embed = PatchEmbed3d(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.pos_embed = nn.Parameter(sincos_3d(embed_dim, self.grid), requires_grad=False)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

    def forward(self, volumes):
        x = self.patch_embed(volumes) + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def forward_features(self, volumes):
        """The cls token: one feature vector per volume."""
        return self.forward(volumes)[:, 0]


class Mae3d(VisionTransformer3d):
    def __init__(self, volume_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio,
                 decoder_embed_dim, decoder_depth, decoder_num_heads, norm_pix_loss=True):
        super().__init__(volume_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio)
        self.norm_pix_loss = norm_pix_loss
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, decoder_embed_dim) * 0.02)
        self.decoder_pos_embed = nn.Parameter(sincos_3d(decoder_embed_dim, self.grid), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            [Block(decoder_embed_dim, decoder_num_heads, mlp_ratio) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        pd, ph, pw = patch_size
        self.decoder_pred = nn.Linear(decoder_embed_dim, in_chans * pd * ph * pw)

    def patchify(self, volumes):
        """[N, C, D, H, W] -> [N, L, C*pd*ph*pw], values ordered (c, k, i, j)."""
        n, c = volumes.shape[:2]
        (d, h, w), (pd, ph, pw) = self.grid, self.patch_size
        x = volumes.reshape(n, c, d, pd, h, ph, w, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        return x.reshape(n, d * h * w, c * pd * ph * pw)

    def loss(self, volumes, ids_shuffle, mask_ratio):
        """MSE on the masked patches (norm-pix when set); ids_shuffle [N, L] puts the kept patches first."""
        x = self.patch_embed(volumes) + self.pos_embed[:, 1:, :]
        n, length, d = x.shape
        keep = min(length - 1, max(1, round(length * (1 - mask_ratio))))
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).repeat(1, 1, d))
        mask = torch.ones(n, length, dtype=x.dtype)
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
        target = self.patchify(volumes)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        per_patch = ((pred - target) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum()
