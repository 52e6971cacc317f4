"""SatMAE's group-channel MAE (Cong et al. 2022) in PyTorch, written for MAE Studio's parity tests
and exports: the module and parameter names of SatMAE's `MaskedAutoencoderGroupChannelViT`
(models_mae_group_channels.py) and `GroupChannelsVisionTransformer` (models_vit_group_channels.py),
so a state dict of these classes loads into SatMAE's with strict=True and the reverse.

The maths, as SatMAE's:
  * the bands are split into groups; group g has its own patch embedding `patch_embed.g.proj`
    (a Conv2d over its bands), so an image becomes G·L tokens, group-major (token g·L + l);
  * each token gets [2-D sin-cos position of its patch (width D - Dg) | 1-D sin-cos of its group
    (width Dg)]; `pos_embed` and `channel_embed` are fixed tables; the decoder's group table has
    one more row, for its cls token;
  * masking is independent (one draw over the G·L tokens, keeping int(G·L·(1 - mask_ratio)), so
    the count per group varies) or `spatial_mask` (one draw over the L locations, every group
    masked alike); the caller passes the draw as `ids_shuffle`, or the uniform `noise` it is
    drawn from as SatMAE's `random_masking` does (argsort: the lowest noise is kept);
  * the decoder appends mask tokens, unshuffles, adds its tables, and group g's head
    `decoder_pred.g` predicts that group's bands (c_g·p·p values, band-major) from its tokens;
  * the loss: target patches normalised over the whole patch (all bands) with norm_pix_loss,
    each group's mean squared error per token, summed over the masked tokens of every group
    and divided by their count.

One deliberate difference from SatMAE's code, which changes nothing when the groups list the
bands in order (0..c1-1, c1..c2-1, ...) and cover them all: SatMAE concatenates its heads'
outputs in group order and compares them with the target in band order, so with other groups
(its default ((0, 1, 2, 6), (3, 4, 5, 7), (8, 9)) included) a head is scored on other bands than
it predicts; here every head is scored on its own bands, as the paper describes. Bands in no
group are left out of the target (SatMAE needs every band in a group).
"""
import torch
import torch.nn as nn

from mae_model import Block, PatchEmbed, sincos


def group_sincos(width, count):
    """1-D sin-cos table [count, width] of positions 0..count-1: [sin(k*w) .., cos(k*w) ..]."""
    half = width // 2
    omega = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float64) / half))
    angles = torch.arange(count, dtype=torch.float64).reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def position_group_table(positions, groups):
    """positions [1, 1 + L, Dp] and groups [1, G, Dg] -> [1, G*L, Dp + Dg], group-major."""
    _, rows, _ = positions.shape
    count = groups.shape[1]
    where = positions[:, 1:, :].unsqueeze(1).expand(-1, count, -1, -1)  # [1, G, L, Dp]
    which = groups.unsqueeze(2).expand(-1, -1, rows - 1, -1)  # [1, G, L, Dg]
    return torch.cat([where, which], dim=-1).reshape(1, count * (rows - 1), -1)


def patch_values(imgs, patch):
    """imgs [N, C, H, W] -> [N, L, C, p*p] (patches row-major, each band's values row-major)."""
    n, c, h, _ = imgs.shape
    side = h // patch
    x = imgs.reshape(n, c, side, patch, side, patch)
    return torch.einsum("nchpwq->nhwcpq", x).reshape(n, side * side, c, patch * patch)


class MaskedAutoencoderGroupChannelViT(nn.Module):
    """The whole SatMAE (encoder, decoder, per-group heads) under SatMAE's names."""

    def __init__(self, img_size, patch_size, in_chans, channel_groups, spatial_mask, channel_embed,
                 embed_dim, depth, num_heads, decoder_channel_embed, decoder_embed_dim, decoder_depth,
                 decoder_num_heads, mlp_ratio=4, norm_pix_loss=False):
        super().__init__()
        self.patch_size = patch_size
        self.in_c = in_chans
        self.channel_groups = [list(group) for group in channel_groups]
        self.spatial_mask = spatial_mask
        self.norm_pix_loss = norm_pix_loss
        side = img_size // patch_size
        count = len(self.channel_groups)
        self.patch_embed = nn.ModuleList([PatchEmbed(patch_size, len(group), embed_dim) for group in channel_groups])
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.pos_embed = nn.Parameter(sincos(embed_dim - channel_embed, side), requires_grad=False)
        self.channel_embed = nn.Parameter(group_sincos(channel_embed, count).unsqueeze(0), requires_grad=False)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, decoder_embed_dim) * 0.02)
        self.decoder_pos_embed = nn.Parameter(sincos(decoder_embed_dim - decoder_channel_embed, side),
                                              requires_grad=False)
        self.decoder_channel_embed = nn.Parameter(group_sincos(decoder_channel_embed, count + 1).unsqueeze(0),
                                                  requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            [Block(decoder_embed_dim, decoder_num_heads, mlp_ratio) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.ModuleList(
            [nn.Linear(decoder_embed_dim, len(group) * patch_size ** 2) for group in channel_groups])

    def group_tokens(self, imgs):
        """imgs [N, C, H, W] -> every group's tokens with positions and groups added, [N, G*L, D]."""
        tokens = torch.cat([embed(imgs[:, group]) for embed, group in zip(self.patch_embed, self.channel_groups)],
                           dim=1)  # [N, G*L, D], group-major
        return tokens + position_group_table(self.pos_embed, self.channel_embed)

    def forward_encoder(self, imgs, ids_shuffle, mask_ratio):
        """Encoder on the kept tokens. ids_shuffle: [N, G*L] (independent) or [N, L] (spatial_mask),
        kept first. -> latent [N, 1 + kept, D], mask [N, G, L] (1 = masked), ids_restore."""
        x = self.group_tokens(imgs)
        n, tokens, width = x.shape
        count = len(self.channel_groups)
        length = tokens // count
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        if self.spatial_mask:
            keep = int(length * (1 - mask_ratio))
            by_location = x.reshape(n, count, length, width).transpose(1, 2)  # [N, L, G, D]
            index = ids_shuffle[:, :keep].reshape(n, keep, 1, 1).expand(-1, -1, count, width)
            x = torch.gather(by_location, 1, index).transpose(1, 2).reshape(n, count * keep, width)
            mask = torch.ones(n, length, dtype=x.dtype)
            mask[:, :keep] = 0
            mask = torch.gather(mask, 1, ids_restore).unsqueeze(1).expand(-1, count, -1)  # [N, G, L]
        else:
            keep = int(tokens * (1 - mask_ratio))
            x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).expand(-1, -1, width))
            mask = torch.ones(n, tokens, dtype=x.dtype)
            mask[:, :keep] = 0
            mask = torch.gather(mask, 1, ids_restore).reshape(n, count, length)
        x = torch.cat([self.cls_token.expand(n, -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, latent, ids_restore):
        """latent [N, 1 + kept, D] -> each group's predictions [N, L, c_g*p*p], patch order."""
        x = self.decoder_embed(latent)
        n, _, width = x.shape
        count = len(self.channel_groups)
        if self.spatial_mask:
            length = ids_restore.shape[1]
            kept = x[:, 1:].reshape(n, count, -1, width).transpose(1, 2).reshape(n, -1, count * width)
            filler = self.mask_token.repeat(n, length - kept.shape[1], count)
            full = torch.cat([kept, filler], dim=1)  # [N, L, G*Dd], shuffled locations
            full = torch.gather(full, 1, ids_restore.unsqueeze(-1).expand(-1, -1, count * width))
            full = full.reshape(n, length, count, width).transpose(1, 2).reshape(n, count * length, width)
        else:
            tokens = ids_restore.shape[1]
            filler = self.mask_token.repeat(n, tokens - (x.shape[1] - 1), 1)
            full = torch.cat([x[:, 1:], filler], dim=1)
            full = torch.gather(full, 1, ids_restore.unsqueeze(-1).expand(-1, -1, width))  # [N, G*L, Dd]
        table = position_group_table(self.decoder_pos_embed, self.decoder_channel_embed[:, :-1])
        cls_row = torch.cat([self.decoder_pos_embed[:, :1], self.decoder_channel_embed[:, -1:]], dim=-1)
        x = torch.cat([x[:, :1] + cls_row, full + table], dim=1)
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_norm(x)[:, 1:].reshape(n, count, -1, width)  # [N, G, L, Dd]
        return [head(x[:, g]) for g, head in enumerate(self.decoder_pred)]

    def forward_loss(self, imgs, preds, mask):
        """Masked-token MSE over every group: sum over masked tokens / their count."""
        values = patch_values(imgs, self.patch_size)  # [N, L, C, p*p]
        seen = sorted(band for group in self.channel_groups for band in group)
        if self.norm_pix_loss:
            whole = values[:, :, seen].flatten(2)  # the patch's values over every band the groups hold
            mean = whole.mean(dim=-1, keepdim=True).unsqueeze(-1)
            var = whole.var(dim=-1, keepdim=True).unsqueeze(-1)
            values = (values - mean) / (var + 1.0e-6) ** 0.5
        total = 0.0
        for g, group in enumerate(self.channel_groups):
            target = values[:, :, group].flatten(2)  # [N, L, c_g*p*p], band-major as the head's output
            per_token = ((preds[g] - target) ** 2).mean(dim=-1)  # [N, L]
            total = total + (per_token * mask[:, g]).sum()
        return total / mask.sum()

    def forward(self, imgs, ids_shuffle=None, mask_ratio=0.75, noise=None):
        """ids_shuffle [N, G*L] or [N, L] (spatial_mask), kept first; or noise of that shape, drawn as
        `random_masking` draws it (small is keep)."""
        if ids_shuffle is None:
            ids_shuffle = torch.argsort(noise, dim=1)
        latent, mask, ids_restore = self.forward_encoder(imgs, ids_shuffle, mask_ratio)
        preds = self.forward_decoder(latent, ids_restore)
        return self.forward_loss(imgs, preds, mask), preds, mask


class GroupChannelsVisionTransformer(nn.Module):
    """SatMAE's fine-tuning encoder under its names (timm VisionTransformer with one patch
    embedding per group, `channel_embed` and `channel_cls_embed`); num_classes=0: no head."""

    def __init__(self, img_size, patch_size, in_chans, channel_groups, channel_embed, embed_dim, depth,
                 num_heads, mlp_ratio=4, num_classes=0, global_pool=False):
        super().__init__()
        self.channel_groups = [list(group) for group in channel_groups]
        self.global_pool = global_pool
        side = img_size // patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(sincos(embed_dim - channel_embed, side))
        self.patch_embed = nn.ModuleList([PatchEmbed(patch_size, len(group), embed_dim) for group in channel_groups])
        self.channel_embed = nn.Parameter(group_sincos(channel_embed, len(self.channel_groups)).unsqueeze(0))
        self.channel_cls_embed = nn.Parameter(torch.zeros(1, 1, channel_embed))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        if global_pool:
            self.fc_norm = nn.LayerNorm(embed_dim, eps=1e-6)
        else:
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward_tokens(self, imgs):
        """[N, 1 + G*L, D] after the blocks (before the final norm)."""
        tokens = torch.cat([embed(imgs[:, group]) for embed, group in zip(self.patch_embed, self.channel_groups)],
                           dim=1)
        x = tokens + position_group_table(self.pos_embed, self.channel_embed)
        cls = self.cls_token + torch.cat([self.pos_embed[:, :1], self.channel_cls_embed], dim=-1)
        x = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return x

    def forward_features(self, imgs):
        x = self.forward_tokens(imgs)
        if self.global_pool:
            return self.fc_norm(x[:, 1:].mean(dim=1))
        return self.norm(x)[:, 0]

    def forward(self, imgs):
        return self.head(self.forward_features(imgs))
