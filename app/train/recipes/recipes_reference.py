"""PyTorch re-implementations of MAE Studio's domain recipes, for the parity tests
(camae-parity.test.ts, fgmae-parity.test.ts, deblur-parity.test.ts). Written from the papers, the
reference code named below and the recipe files' own descriptions, not from our TypeScript.

- FG-MAE (Wang et al. 2023; zhu-xlab/FGMAE models_mae.py): the MAE decoder regresses per-patch
  features of the masked patches, each target normalised per patch when norm_pix (as their
  forward_loss), losses summed. HOG as hog.ts states it (central differences, 9 unsigned bins,
  cells of half a patch, L2 per cell); normalised-difference indices as indices.ts states them.
- Deblurring MAE (Kang et al. 2023): the encoder sees the image blurred by a Gaussian
  (scipy.ndimage.gaussian_filter, mode='reflect', truncate 4; mae_model.gaussian_blur, which the
  torchrun hand-off job uses too); the target is the sharp image.
- CA-MAE: app/mae/camae_reference.py (Recursion's names).

Usage: python3 recipes_reference.py CASE_DIR. CASE_DIR holds case.json (recipe, config, images,
ids_shuffle, keep, recipe options) and weights.safetensors (the model's state dict: models_mae.py
names, plus decoder_pred_<head> for FG-MAE; Recursion's names for CA-MAE, loaded strict). Writes
result.json: the loss and the gradient of the patch embedding's weight (torch layout), and for
CA-MAE the encoder's features and the encoder-only file's features. Recipe "vit-encoder" loads a
timm-named encoder file (the safetensors export) strictly and returns its features.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "handoff", "torch"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "mae"))
from camae_reference import CaMae, ChannelAgnosticViT, recursion_sincos, studio_channel_sincos  # noqa: E402
from mae_model import Mae, gaussian_blur  # noqa: E402  (the blur the hand-off job ships)
from tensor_files import read_safetensors  # noqa: E402

INDEX_BANDS = {"ndvi": ("nir", "red"), "ndwi": ("green", "nir"), "ndbi": ("swir", "nir")}


def hog_per_patch(imgs, patch):
    """[N, C, H, W] -> [N, L, C * cells^2 * 9], values (channel, cell row, cell col, bin) per patch."""
    x = imgs.double()
    n, c, h, w = x.shape
    g_row = torch.zeros_like(x)
    g_col = torch.zeros_like(x)
    g_row[:, :, 1:-1, :] = x[:, :, 2:, :] - x[:, :, :-2, :]
    g_col[:, :, :, 1:-1] = x[:, :, :, 2:] - x[:, :, :, :-2]
    magnitude = torch.hypot(g_row, g_col)
    degrees = torch.rad2deg(torch.atan2(g_row, g_col)) % 180.0
    bins = torch.clamp(torch.floor(degrees / 20.0), max=8).long()
    cells = 2 if patch % 2 == 0 else 1
    cell = patch // cells
    votes = F.one_hot(bins, 9).double() * magnitude[..., None]  # [N, C, H, W, 9]
    hist = votes.reshape(n, c, h // cell, cell, w // cell, cell, 9).sum(dim=(3, 5)) / (cell * cell)
    hist = hist / torch.sqrt((hist ** 2).sum(dim=-1, keepdim=True) + 1e-10)
    hist = hist.reshape(n, c, h // patch, cells, w // patch, cells, 9).permute(0, 2, 4, 1, 3, 5, 6)
    return hist.reshape(n, (h // patch) * (w // patch), c * cells * cells * 9).float()


def indices_per_patch(imgs, patch, indices, bands, unscale):
    """[N, C, H, W] normalised -> [N, L, K * p * p], values (index, row, col) per patch."""
    scale = torch.tensor(unscale["scale"], dtype=torch.float64)[None, :, None, None]
    shift = torch.tensor(unscale["shift"], dtype=torch.float64)[None, :, None, None]
    x = imgs.double() * scale + shift
    maps = []
    for index in indices:
        first, second = (x[:, bands[role]["channel"]] for role in INDEX_BANDS[index])
        ratio = (first - second) / (first + second + 1e-5)
        maps.append(torch.where(torch.isfinite(ratio), ratio.clamp(-1, 1), torch.zeros_like(ratio)))
    stacked = torch.stack(maps, dim=1)  # [N, K, H, W]
    n, k, h, w = stacked.shape
    side = h // patch
    out = stacked.reshape(n, k, side, patch, side, patch).permute(0, 2, 4, 1, 3, 5)
    return out.reshape(n, side * side, k * patch * patch).float()


def norm_pix(target):
    return (target - target.mean(dim=-1, keepdim=True)) / (target.var(dim=-1, keepdim=True) + 1e-6) ** 0.5


def decoder_hidden(model, x, ids_shuffle, keep):
    """models_mae.py's encoder and decoder up to decoder_norm: ([N, L, Dd] in patch order, mask [N, L])."""
    tokens = model.patch_embed(x) + model.pos_embed[:, 1:, :]
    n, length, d = tokens.shape
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    kept = torch.gather(tokens, 1, ids_shuffle[:, :keep, None].repeat(1, 1, d))
    cls = (model.cls_token + model.pos_embed[:, :1, :]).expand(n, -1, -1)
    latent = torch.cat([cls, kept], dim=1)
    for blk in model.blocks:
        latent = blk(latent)
    latent = model.norm(latent)
    y = model.decoder_embed(latent)
    rest = torch.cat([y[:, 1:], model.mask_token.repeat(n, length - keep, 1)], dim=1)
    rest = torch.gather(rest, 1, ids_restore[:, :, None].repeat(1, 1, y.shape[2]))
    y = torch.cat([y[:, :1], rest], dim=1) + model.decoder_pos_embed
    for blk in model.decoder_blocks:
        y = blk(y)
    mask = torch.ones(n, length)
    mask[:, :keep] = 0
    return model.decoder_norm(y)[:, 1:], torch.gather(mask, 1, ids_restore)


def masked_mse(pred, target, mask, normalise):
    target = norm_pix(target) if normalise else target
    return (((pred - target) ** 2).mean(dim=-1) * mask).sum() / mask.sum()


def mae_with_heads(config, heads):
    model = Mae(config)
    for name, width in heads.items():
        setattr(model, f"decoder_pred_{name}", nn.Linear(config["dec_dim"], width))
    if not config.get("pixel_head", True):
        del model.decoder_pred
    return model


def load_strict(model, path):
    tensors, _ = read_safetensors(path)
    model.load_state_dict(tensors, strict=True)
    return tensors


def run_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    c = case["config"]
    imgs = torch.tensor(case["imgs"], dtype=torch.float32).reshape(case["shape"])
    ids = torch.tensor(case.get("idsShuffle", []), dtype=torch.long).reshape(imgs.shape[0], -1)
    keep = case.get("keep", 0)
    weights = os.path.join(case_dir, "weights.safetensors")
    result = {}
    if case["recipe"] == "vit-encoder":  # a timm-named ViT encoder file (any recipe's safetensors export)
        model = Mae(c)
        for name in ("decoder_embed", "decoder_blocks", "decoder_norm", "decoder_pred", "mask_token",
                     "decoder_pos_embed"):
            delattr(model, name)
        load_strict(model, weights)
        with torch.no_grad():
            result["features"] = model.encode_all(imgs).flatten().tolist()
        with open(os.path.join(case_dir, "result.json"), "w") as f:
            json.dump(result, f)
        return
    if case["recipe"] == "camae":
        model = CaMae(c)
        generated = model.encoder.vit_backbone.pos_embed.detach().clone()
        load_strict(model, weights)
        loss = model.loss(imgs, ids, keep)
        weight = model.encoder.vit_backbone.patch_embed.proj.weight
        loaded = model.encoder.vit_backbone.pos_embed.detach()
        dim, side = c["dim"], c["img"] // c["patch"]
        result["posEmbedIsStudioTable"] = bool(torch.allclose(loaded, studio_channel_sincos(dim, side, c["chans"]),
                                                              atol=1e-6))
        result["generatedIsRecursionTable"] = bool(torch.equal(generated, recursion_sincos(dim, side, c["chans"])))
        with torch.no_grad():
            result["features"] = model.features(imgs).flatten().tolist()
            encoder = ChannelAgnosticViT(c["img"], c["patch"], dim, c["depth"], c["heads"], c["mlp"], c["chans"])
            load_strict(encoder, os.path.join(case_dir, "encoder.safetensors"))
            fewer = imgs[:, : max(1, c["chans"] - 2)]  # channel-agnostic: fewer channels than trained
            result["encoderFeatures"] = encoder.forward_features(F.instance_norm(imgs, eps=1e-5)).flatten().tolist()
            result["fewerChannelFeatures"] = encoder.forward_features(
                F.instance_norm(fewer, eps=1e-5)).flatten().tolist()
    else:
        heads = {name: width for name, width in case.get("heads", {}).items()}
        model = mae_with_heads(c, heads)
        load_strict(model, weights)
        weight = model.patch_embed.proj.weight
        if case["recipe"] == "deblur":  # exactly the hand-off job's step (train_mae.py)
            loss = model(gaussian_blur(imgs, case["blurSigma"]), ids, 1 - keep / ids.shape[1], imgs)
        else:  # fgmae
            hidden, mask = decoder_hidden(model, imgs, ids, keep)
            losses = []
            if c.get("pixel_head", True):
                losses.append(masked_mse(model.decoder_pred(hidden), model.patchify(imgs), mask, c["norm_pix"]))
            if "hog" in heads:
                target = hog_per_patch(imgs, c["patch"])
                losses.append(masked_mse(model.decoder_pred_hog(hidden), target, mask, c["norm_pix"]))
            if "indices" in heads:
                target = indices_per_patch(imgs, c["patch"], case["indices"], case["bands"], case["unscale"])
                losses.append(masked_mse(model.decoder_pred_indices(hidden), target, mask, c["norm_pix"]))
            loss = sum(losses)
    loss.backward()
    result["loss"] = loss.item()
    result["grad"] = weight.grad.flatten().tolist()
    with open(os.path.join(case_dir, "result.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    run_case(sys.argv[1])
