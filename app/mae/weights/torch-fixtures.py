"""Test fixture generator for app/mae/weights (run by init.test.ts with Debian's python3-torch).

Writes, for one tiny random MAE, the checkpoint layouts users bring (never downloaded in tests):
  official_full.pth     torch.save({"model": state_dict, "args": Namespace, "epoch": 7}), models_mae.py names
  official_encoder.pth  {"model": encoder-only state dict} (as the released mae_pretrain_* files)
  hf.safetensors        Hugging Face ViTMAEForPreTraining names (split query/key/value)
  timm.safetensors      timm VisionTransformer names, with a classifier head and a learned pos_embed
  expected.json         the config, an input batch, a mask (ids_shuffle) and what torch computes:
                        the official norm-pix loss, encoder features without masking, and encoder
                        features of a grey image copied into the three channels.

The model below follows models_mae.py (He et al.) step for step, written here for the test.
Usage: python3 torch-fixtures.py OUT_DIR [CONFIG_JSON]   (CONFIG_JSON overrides fields of CONFIG)
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(img=16, patch=4, chans=3, dim=16, depth=2, heads=2, dec_dim=8, dec_depth=1, dec_heads=2, mlp=4)


def sincos(dim, side):
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float64), torch.arange(side, dtype=torch.float64), indexing="ij")

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
        self.decoder_blocks = nn.ModuleList([Block(c["dec_dim"], c["dec_heads"], c["mlp"]) for _ in range(c["dec_depth"])])
        self.decoder_norm = nn.LayerNorm(c["dec_dim"], eps=1e-6)
        self.decoder_pred = nn.Linear(c["dec_dim"], c["patch"] ** 2 * c["chans"])
        for p in self.parameters():  # random, not the reference init: every value should matter in the test
            if p.requires_grad:
                nn.init.normal_(p, std=0.3)

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

    def loss(self, imgs, ids_shuffle, mask_ratio):
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:, :]
        n, length, d = x.shape
        keep = int(length * (1 - mask_ratio))
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
        target = self.patchify(imgs)
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.0e-6) ** 0.5
        per_patch = ((pred - target) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def hf_names(sd):
    out = {}
    for name, t in sd.items():
        if name == "cls_token":
            out["vit.embeddings.cls_token"] = t
        elif name == "pos_embed":
            out["vit.embeddings.position_embeddings"] = t
        elif name.startswith("patch_embed.proj."):
            out["vit.embeddings.patch_embeddings.projection." + name.split(".")[-1]] = t
        elif name.startswith("norm."):
            out["vit.layernorm." + name.split(".")[-1]] = t
        elif name == "mask_token":
            out["decoder.mask_token"] = t
        elif name == "decoder_pos_embed":
            out["decoder.decoder_pos_embed"] = t
        elif name.split(".")[0] in ("decoder_embed", "decoder_norm", "decoder_pred"):
            out["decoder." + name] = t
        else:
            group, index, rest = name.split(".", 2)
            prefix = ("vit.encoder.layer." if group == "blocks" else "decoder.decoder_layers.") + index
            kind = rest.split(".")[-1]
            if rest.startswith("attn.qkv"):
                for part, chunk in zip(("query", "key", "value"), t.chunk(3, dim=0)):
                    out[f"{prefix}.attention.attention.{part}.{kind}"] = chunk
            else:
                sub = {"norm1": "layernorm_before", "attn.proj": "attention.output.dense", "norm2": "layernorm_after",
                       "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}[rest.rsplit(".", 1)[0]]
                out[f"{prefix}.{sub}.{kind}"] = t
    return out


def main():
    out = sys.argv[1]
    if len(sys.argv) > 2:
        CONFIG.update(json.loads(sys.argv[2]))
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = Mae(CONFIG).eval()
    sd = model.state_dict()
    encoder = {k: v for k, v in sd.items() if not k.startswith("decoder") and k != "mask_token"}
    namespace = argparse.Namespace(model="mae_vit_tiny", mask_ratio=0.75, norm_pix_loss=True, lr=None, blr=1.5e-4)
    torch.save({"model": sd, "optimizer": {"state": {}}, "epoch": 7, "args": namespace}, os.path.join(out, "official_full.pth"))
    torch.save({"model": encoder}, os.path.join(out, "official_encoder.pth"))
    write_safetensors(os.path.join(out, "hf.safetensors"), hf_names(sd))
    timm = dict(encoder)
    timm["pos_embed"] = torch.randn_like(sd["pos_embed"])  # a fine-tuned ViT learns it
    timm["head.weight"] = torch.randn(5, CONFIG["dim"])
    timm["head.bias"] = torch.zeros(5)
    write_safetensors(os.path.join(out, "timm.safetensors"), timm)

    imgs = torch.randn(2, CONFIG["chans"], CONFIG["img"], CONFIG["img"])
    length = (CONFIG["img"] // CONFIG["patch"]) ** 2
    ids_shuffle = torch.stack([torch.randperm(length), torch.randperm(length)])
    grey = torch.randn(1, 1, CONFIG["img"], CONFIG["img"])
    with torch.no_grad():
        expected = {
            "config": CONFIG,
            "maskRatio": 0.75,
            "imgs": imgs.flatten().tolist(),
            "idsShuffle": ids_shuffle.flatten().tolist(),
            "loss": model.loss(imgs, ids_shuffle, 0.75).item(),
            "features": model.encode_all(imgs).flatten().tolist(),
            "grey": grey.flatten().tolist(),
            "greyFeatures": model.encode_all(grey.repeat(1, 3, 1, 1)).flatten().tolist(),
            "torch": torch.__version__,
        }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
