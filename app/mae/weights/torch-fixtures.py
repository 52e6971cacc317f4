"""Test fixture generator for app/mae/weights (run by init.test.ts with Debian's python3-torch).

Writes, for one tiny random MAE, the checkpoint layouts users bring (never downloaded in tests):
  official_full.pth     torch.save({"model": state_dict, "args": Namespace, "epoch": 7}), models_mae.py names
  official_encoder.pth  {"model": encoder-only state dict} (as the released mae_pretrain_* files)
  hf.safetensors        Hugging Face ViTMAEForPreTraining names (split query/key/value)
  timm.safetensors      timm VisionTransformer names, with a classifier head and a learned pos_embed
  expected.json         the config, an input batch, a mask (ids_shuffle) and what torch computes:
                        the official norm-pix loss, encoder features without masking, and encoder
                        features of a grey image copied into the three channels.

The model is app/handoff/torch/mae_model.py (models_mae.py step for step).
Usage: python3 torch-fixtures.py OUT_DIR [CONFIG_JSON]   (CONFIG_JSON overrides fields of CONFIG)
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "handoff", "torch"))
from mae_model import Mae  # noqa: E402  (the one PyTorch MAE of the project)
from tensor_files import write_safetensors  # noqa: E402

CONFIG = dict(img=16, patch=4, chans=3, dim=16, depth=2, heads=2, dec_dim=8, dec_depth=1, dec_heads=2, mlp=4)


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
    for p in model.parameters():  # random, not the reference init: every value should matter in the test
        if p.requires_grad:
            nn.init.normal_(p, std=0.3)
    sd = model.state_dict()
    encoder = {k: v for k, v in sd.items() if not k.startswith("decoder") and k != "mask_token"}
    namespace = argparse.Namespace(model="mae_vit_tiny", mask_ratio=0.75, norm_pix_loss=True, lr=None, blr=1.5e-4)
    torch.save({"model": sd, "optimizer": {"state": {}}, "epoch": 7, "args": namespace},
               os.path.join(out, "official_full.pth"))
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
