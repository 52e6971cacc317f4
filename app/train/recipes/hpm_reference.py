"""Hard Patches Mining's training loss in PyTorch, written from the paper (Wang et al. 2023, "Hard
Patches Mining for Masked Image Modeling", CVPR 2023, arXiv:2304.05919) on top of the project's own
torch MAE (app/handoff/torch/mae_model.py), for hpm.test.ts to compare with MAE Studio's TF.js model.

The model gains a loss predictor beside the pixel decoder: its own decoder blocks over the same
decoder input tokens, its own norm and a linear head whose mean over the C*p*p outputs is each
patch's predicted loss. The loss is the norm-pix MSE over the masked patches plus weight times the
relative objective: for every ordered pair (i, j) of masked patches of an image, binary
cross-entropy of sigmoid(p_j - p_i) against whether t_j > t_i, with t the patches' detached
reconstruction losses; pairs of equal losses count for nothing; the sum is divided by the number of
labelled pairs.

Reads one JSON document on stdin: {"model": the hand-off's model description, "state": {name:
{"shape", "data"}} in the official layout, "images": [B*C*H*W], "ids_shuffle": [[L]...] (kept
patches first), "mask_ratio", "weight"}. Prints {"loss", "reconstruction", "relative",
"patch_embed_grad": [D*C*p*p]}.
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "handoff", "torch"))
from mae_model import Block, Mae  # noqa: E402


class HpmMae(Mae):
    """The MAE with HPM's loss predictor, under the reference's parameter names."""

    def __init__(self, c):
        super().__init__(c)
        self.decoder_blocks_losspred = nn.ModuleList(
            [Block(c["dec_dim"], c["dec_heads"], c["mlp"]) for _ in range(c["dec_depth"])])
        self.decoder_norm_losspred = nn.LayerNorm(c["dec_dim"], eps=1e-6)
        self.decoder_pred_losspred = nn.Linear(c["dec_dim"], c["patch"] ** 2 * c["chans"])

    def decoder_input(self, imgs, ids_shuffle, mask_ratio):
        """Encoder on the kept patches, then the decoder's input tokens in patch order; mask 1 = masked."""
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
        tokens = torch.cat([x[:, 1:, :], self.mask_token.repeat(n, length - keep, 1)], dim=1)
        tokens = torch.gather(tokens, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        return torch.cat([x[:, :1, :], tokens], dim=1) + self.decoder_pos_embed, mask

    def hpm_loss(self, imgs, ids_shuffle, mask_ratio, weight):
        tokens, mask = self.decoder_input(imgs, ids_shuffle, mask_ratio)
        x = tokens
        for blk in self.decoder_blocks:
            x = blk(x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:, :]
        target = self.patchify(imgs)
        if self.c.get("norm_pix", True):
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        n = imgs.shape[0]
        masked = mask.bool()
        losses = ((pred - target) ** 2).mean(dim=-1)[masked].reshape(n, -1)
        y = tokens
        for blk in self.decoder_blocks_losspred:
            y = blk(y)
        predicted = self.decoder_pred_losspred(self.decoder_norm_losspred(y))[:, 1:, :].mean(dim=-1)
        predicted = predicted[masked].reshape(n, -1)
        reconstruction = losses.mean()
        relative = relative_objective(predicted, losses.detach())
        return reconstruction + weight * relative, reconstruction, relative


def relative_objective(predicted, target):
    """Pairwise ranking BCE over the patches of each image; entry (i, j) compares patch j with patch i."""
    positive = (target.unsqueeze(1) > target.unsqueeze(2)).float()
    negative = (target.unsqueeze(1) < target.unsqueeze(2)).float()
    sigmoid = torch.sigmoid(predicted.unsqueeze(1) - predicted.unsqueeze(2))
    loss = -positive * torch.log(sigmoid + 1e-6) - negative * torch.log(1 - sigmoid + 1e-6)
    return loss.sum() / (positive + negative).sum()


def main():
    job = json.load(sys.stdin)
    c = job["model"]
    model = HpmMae(c)
    state = {name: torch.tensor(t["data"], dtype=torch.float32).reshape(t["shape"]) for name, t in job["state"].items()}
    model.load_state_dict(state, strict=True)
    side = c["img"]
    imgs = torch.tensor(job["images"], dtype=torch.float32).reshape(-1, c["chans"], side, side)
    ids_shuffle = torch.tensor(job["ids_shuffle"], dtype=torch.long)
    loss, reconstruction, relative = model.hpm_loss(imgs, ids_shuffle, job["mask_ratio"], job["weight"])
    loss.backward()
    print(json.dumps({
        "loss": loss.item(),
        "reconstruction": reconstruction.item(),
        "relative": relative.item(),
        "patch_embed_grad": model.patch_embed.proj.weight.grad.reshape(-1).tolist(),
    }))


if __name__ == "__main__":
    main()
