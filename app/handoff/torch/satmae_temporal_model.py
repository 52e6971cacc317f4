"""SatMAE's temporal MAE (Cong et al. 2022) in PyTorch, written for MAE Studio's parity tests: the
module and parameter names of SatMAE's `MaskedAutoencoderViT` (models_mae_temporal.py), so a state
dict of this class loads into SatMAE's with strict=True and the reverse; and its fine-tuning encoder
`VisionTransformer` (models_vit_temporal.py), which the studio's temporal encoder exports load into.

The maths, as SatMAE's:
  * the input is [N, T, C, H, W]: T images of one place; every frame goes through the one shared
    `patch_embed.proj`, so a sample is T*L tokens, frame-major (token t*L + l);
  * each token gets [2-D sin-cos position of its patch (width D - 3w) | sin-cos(year) |
    sin-cos(month) | sin-cos(hour)] of its frame's timestamp, three 1-D encodings of width w;
    the encoder's cls token gets nothing, the decoder's cls row gets zeros;
  * masking is one draw over all T*L tokens (argsort of uniform noise, the lowest kept,
    int(T*L*(1 - mask_ratio)) of them) or, with same_mask, one draw over the L locations used by
    every frame (each frame keeping int(L*(1 - mask_ratio)); kept tokens frame by frame, then the
    masked ones frame by frame);
  * one head `decoder_pred` predicts every token's p*p*C values in `patchify`'s (i, j, c) order;
    the loss: norm-pix targets per patch, each token's mean squared error, summed over the masked
    tokens and divided by their count.

What SatMAE hard-codes is an argument here: the frame count (`frames`, SatMAE: 3), the width of
each timestamp part (`time_embed_dim`, SatMAE: 128, and `decoder_time_embed_dim`, SatMAE: 64), and
the band count in `patchify` (SatMAE: 3). With those values the maths is SatMAE's.
"""
import torch
import torch.nn as nn

from mae_model import Block, PatchEmbed, sincos


def time_sincos(width, values):
    """values [M] -> [M, width]: [sin(v*w_k) .., cos(v*w_k) ..], w_k = 1 / 10000^(k / (width/2))."""
    half = width // 2
    omega = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float64) / half))
    angles = values.reshape(-1, 1).double() * omega.reshape(1, -1)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def timestamp_table(timestamps, width, frames, length):
    """timestamps [N, T, 3] (year, month, hour) -> [N, T*L, 3*width], each frame's row repeated L times."""
    rows = timestamps.reshape(-1, 3)
    table = torch.cat([time_sincos(width, rows[:, part]) for part in range(3)], dim=1)  # [N*T, 3w]
    table = table.reshape(-1, frames, 1, 3 * width).expand(-1, -1, length, -1)
    return table.reshape(timestamps.shape[0], frames * length, 3 * width).to(torch.get_default_dtype())


class MaskedAutoencoderViT(nn.Module):
    """The whole temporal SatMAE (encoder, decoder, one head) under SatMAE's names."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim, depth, num_heads, decoder_embed_dim,
                 decoder_depth, decoder_num_heads, mlp_ratio=4, norm_pix_loss=False, same_mask=False, frames=3,
                 time_embed_dim=128, decoder_time_embed_dim=64):
        super().__init__()
        self.patch_size = patch_size
        self.in_chans = in_chans
        self.frames = frames
        self.time_embed_dim = time_embed_dim
        self.decoder_time_embed_dim = decoder_time_embed_dim
        self.norm_pix_loss = norm_pix_loss
        self.same_mask = same_mask
        side = img_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.pos_embed = nn.Parameter(sincos(embed_dim - 3 * time_embed_dim, side), requires_grad=False)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, decoder_embed_dim) * 0.02)
        self.decoder_pos_embed = nn.Parameter(sincos(decoder_embed_dim - 3 * decoder_time_embed_dim, side),
                                              requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            [Block(decoder_embed_dim, decoder_num_heads, mlp_ratio) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size ** 2 * in_chans)

    def patchify(self, imgs):
        """[N, C, H, W] -> [N, L, p*p*C], values (i, j, c) as SatMAE's."""
        p = self.patch_size
        n, c, h, _ = imgs.shape
        x = imgs.reshape(n, c, h // p, p, h // p, p)
        return torch.einsum("nchpwq->nhwpqc", x).reshape(n, (h // p) ** 2, p * p * c)

    def shuffle_from_noise(self, noise, mask_ratio):
        """SatMAE's `random_masking` order: noise [N, T*L] (independent) or [N, L] (same_mask)."""
        ids_shuffle = torch.argsort(noise, dim=1)  # small is keep
        if not self.same_mask:
            return ids_shuffle
        length = noise.shape[1]
        keep = int(length * (1 - mask_ratio))
        frames = [ids_shuffle + t * length for t in range(self.frames)]
        return torch.cat([z[:, :keep] for z in frames] + [z[:, keep:] for z in frames], dim=1)

    def forward_encoder(self, imgs, timestamps, ids_shuffle, mask_ratio):
        """imgs [N, T, C, H, W] -> latent [N, 1 + kept, D], mask [N, T*L] (1 = masked), ids_restore."""
        x = torch.cat([self.patch_embed(imgs[:, t]) for t in range(self.frames)], dim=1)  # [N, T*L, D]
        n, tokens, width = x.shape
        length = tokens // self.frames
        time = timestamp_table(timestamps, self.time_embed_dim, self.frames, length)
        x = x + torch.cat([self.pos_embed[:, 1:].repeat(n, self.frames, 1), time], dim=-1)
        keep = int(tokens * (1 - mask_ratio))
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).expand(-1, -1, width))
        mask = torch.ones(n, tokens)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        x = torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)  # no encoding on the cls token
        for block in self.blocks:
            x = block(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, latent, timestamps, ids_restore):
        """latent [N, 1 + kept, D] -> predictions [N, T*L, p*p*C] in token order."""
        x = self.decoder_embed(latent)
        n, _, width = x.shape
        tokens = ids_restore.shape[1]
        filler = self.mask_token.repeat(n, tokens + 1 - x.shape[1], 1)
        full = torch.gather(torch.cat([x[:, 1:], filler], dim=1), 1, ids_restore.unsqueeze(-1).expand(-1, -1, width))
        time = timestamp_table(timestamps, self.decoder_time_embed_dim, self.frames, tokens // self.frames)
        time = torch.cat([torch.zeros(n, 1, time.shape[-1]), time], dim=1)  # the cls row: zeros
        where = torch.cat([self.decoder_pos_embed[:, :1], self.decoder_pos_embed[:, 1:].repeat(1, self.frames, 1)],
                          dim=1).expand(n, -1, -1)
        x = torch.cat([x[:, :1], full], dim=1) + torch.cat([where, time], dim=-1)
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]

    def forward_loss(self, imgs, pred, mask):
        """Masked-token MSE: sum over the masked tokens of every frame / their count."""
        target = torch.cat([self.patchify(imgs[:, t]) for t in range(self.frames)], dim=1)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        per_token = ((pred - target) ** 2).mean(dim=-1)
        return (per_token * mask).sum() / mask.sum()

    def forward(self, imgs, timestamps, mask_ratio=0.75, mask=None, noise=None):
        """imgs [N, T, C, H, W], timestamps [N, T, 3]; `mask` is SatMAE's ids_shuffle [N, T*L] (kept
        first), or give the uniform `noise` `random_masking` draws ([N, T*L], or [N, L] with same_mask)."""
        ids_shuffle = mask if mask is not None else self.shuffle_from_noise(noise, mask_ratio)
        latent, mask, ids_restore = self.forward_encoder(imgs, timestamps, ids_shuffle, mask_ratio)
        pred = self.forward_decoder(latent, timestamps, ids_restore)
        return self.forward_loss(imgs, pred, mask), pred, mask


class VisionTransformer(nn.Module):
    """SatMAE's temporal fine-tuning encoder (models_vit_temporal.py) under its names: timm's
    VisionTransformer keys (`cls_token`, `pos_embed` [1, 1 + L, D - 3w], `patch_embed.proj`, `blocks.N`,
    `norm`, `head`) over T dated frames. The cls row gets [pos_embed[0] | zeros], the patch tokens of
    frame t [pos_embed[1 + l] | timestamp encoding of frame t]; num_classes=0: no head."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio=4, qkv_bias=True,
                 num_classes=0, global_pool=False, frames=3, time_embed_dim=128):
        super().__init__()
        assert qkv_bias, "the studio's blocks always have a qkv bias"
        self.frames = frames
        self.time_embed_dim = time_embed_dim
        self.global_pool = global_pool
        side = img_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(sincos(embed_dim - 3 * time_embed_dim, side))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        if global_pool:
            self.fc_norm = nn.LayerNorm(embed_dim, eps=1e-6)
        else:
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward_tokens(self, imgs, timestamps):
        """imgs [N, T, C, H, W], timestamps [N, T, 3] -> [N, 1 + T*L, D] after the blocks (before the norm)."""
        x = torch.cat([self.patch_embed(imgs[:, t]) for t in range(self.frames)], dim=1)  # [N, T*L, D]
        n, tokens, _ = x.shape
        time = timestamp_table(timestamps, self.time_embed_dim, self.frames, tokens // self.frames)
        time = torch.cat([torch.zeros(n, 1, time.shape[-1], dtype=time.dtype), time], dim=1)  # cls: zeros
        where = torch.cat([self.pos_embed[:, :1], self.pos_embed[:, 1:].repeat(1, self.frames, 1)], dim=1)
        x = torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)
        x = x + torch.cat([where.expand(n, -1, -1), time], dim=-1)
        for block in self.blocks:
            x = block(x)
        return x

    def forward_features(self, imgs, timestamps):
        x = self.forward_tokens(imgs, timestamps)
        if self.global_pool:
            return self.fc_norm(x[:, 1:].mean(dim=1))
        return self.norm(x)[:, 0]

    def forward(self, imgs, timestamps):
        return self.head(self.forward_features(imgs, timestamps))
