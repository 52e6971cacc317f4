"""MAE Studio hand-off job: continue a pretraining run with PyTorch DDP (launch with torchrun).

    torchrun --nproc_per_node N [--nnodes M --node_rank R --rdzv_endpoint HOST:PORT] train_mae.py [--steps S]

Reads handoff.json (recipe, normalisation, where the run stopped), manifest.json (images, labels,
split) and weights.safetensors (official models_mae.py names, AdamW moments) from the folder it sits
in, trains with the studio's recipe — AdamW(0.9, 0.95) with weight decay 0.05 off biases, norms and
tokens; lr from blr and the effective batch by the run's rule (linear: blr x batch / 256), linear
warmup then half-cycle cosine per step; RandomResizedCrop(0.2-1) + horizontal flip; random masking;
norm-pix loss (a Deblurring MAE run: the encoder sees each batch blurred by mae_model.gaussian_blur,
the loss compares with the sharp batch) — and writes out/checkpoint-<step>.safetensors and
out/metrics.jsonl, which `mae-studio adopt` brings back.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import zlib

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mae_model import Mae, gaussian_blur, random_shuffle, uses_weight_decay  # noqa: E402
from tensor_files import read_safetensors, write_safetensors  # noqa: E402


# ---------------------------------------------------------------- images

def read_png(path):
    """PNG (8/16-bit, grey/grey+alpha/RGB/RGBA, non-interlaced) -> [H, W, C] integer array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    at, chunks, header = 8, [], None
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    if interlace or colour == 3 or depth not in (8, 16):
        raise ValueError(f"{path}: interlaced, palette or {depth}-bit PNGs are not read by this job; convert them")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    bpp = channels * depth // 8
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)].astype(np.int32)
        if kind == 1:  # Sub: running sum per byte position within a pixel
            row = np.cumsum(row.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            row = (row + previous) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: depend on the byte to the left
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                up = previous[i]
                if kind == 3:
                    row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
                else:
                    upper_left = previous[i - bpp] if i >= bpp else 0
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                    row[i] = (row[i] + predictor) & 0xFF
        out[y] = row
        previous = row
    if depth == 16:
        high_low = np.array([256, 1], dtype=np.uint16)
        return out.reshape(height, width * channels, 2).astype(np.uint16).dot(high_low).reshape(height, width, channels)
    return out.reshape(height, width, channels)


def read_image(path):
    """-> [C, H, W] float32 in the file's own units."""
    lower = path.lower()
    if lower.endswith(".npy"):
        array = np.load(path)
    elif lower.endswith(".png"):
        array = read_png(path)
    elif lower.endswith((".tif", ".tiff")):
        import tifffile  # optional: pip install tifffile
        array = tifffile.imread(path)
    else:
        from PIL import Image  # optional: 8-bit JPEG/WebP
        array = np.asarray(Image.open(path))
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(array).astype(np.float32)).permute(2, 0, 1)


# Rec. 601 luma, as the studio's luminance conversion (contract-channels.ts LUMINANCE_WEIGHTS).
LUMINANCE_WEIGHTS = torch.tensor([0.299, 0.587, 0.114])


class ManifestDataset(torch.utils.data.Dataset):
    """The run's training images, normalised as the studio does: by the project's channel plan
    (each image first converted to the plan's input bands as its channel count's conversion says:
    grey repeated, RGB to Rec. 601 luminance, alpha dropped; then bands, clip, center, spread;
    missing pixels become the center) when the run has one, else scaled to [0, 1] by bit depth
    and normalised by the per-channel mean and std."""

    def __init__(self, images, data, img_size, root_map):
        self.images = images
        self.transform = data.get("transform")
        if self.transform is None:
            self.mean = torch.tensor(data["mean"]).view(-1, 1, 1)
            self.std = torch.tensor(data["std"]).view(-1, 1, 1)
        else:
            t = self.transform
            self.bands = list(t["bands"])
            self.low = torch.tensor([c[0] if c else -float("inf") for c in t["clip"]]).view(-1, 1, 1)
            self.high = torch.tensor([c[1] if c else float("inf") for c in t["clip"]]).view(-1, 1, 1)
            self.center = torch.tensor(t["center"]).view(-1, 1, 1)
            self.spread = torch.tensor(t["spread"]).view(-1, 1, 1)
        self.channels = data["channels"]
        self.img_size = img_size
        self.root_map = root_map

    def __len__(self):
        return len(self.images)

    def path(self, image):
        path = image["path"]
        for old, new in self.root_map:
            if path.startswith(old):
                return new + path[len(old):]
        return path

    def convert(self, image, raw):
        """raw [C, H, W] brought to the plan's input bands (app/data/channel-conversion.ts)."""
        conversions = self.transform.get("conversions")
        if not conversions:
            return raw
        target, source = self.transform["inputChannels"], raw.shape[0]
        conversion = conversions.get(str(source), "keep" if source == target else "exclude")
        if conversion == "keep" and source == target:
            return raw
        if conversion == "repeat" and source in (1, 2):
            return raw[:1].expand(target, -1, -1)
        if conversion == "drop-alpha" and source in (2, 4):
            return raw[: source - 1]
        if conversion == "luminance" and source in (3, 4):
            return (LUMINANCE_WEIGHTS.view(3, 1, 1) * raw[:3]).sum(0, keepdim=True)
        raise ValueError(f"{image['path']}: the channel plan cannot {conversion!r} {source}-channel images "
                         f"into {target} bands")

    def normalise(self, image, raw):
        if self.transform is None:
            return (raw[: self.channels] / (2 ** image["bitDepth"] - 1) - self.mean) / self.std
        pixels = self.convert(image, raw)[self.bands]
        missing = torch.isnan(pixels)
        if image.get("nodata") is not None:
            missing |= pixels == image["nodata"]
        pixels = torch.where(missing, self.center.expand_as(pixels), pixels)
        pixels = torch.maximum(torch.minimum(pixels, self.high), self.low)
        return (pixels - self.center) / self.spread

    def __getitem__(self, index):
        image = self.images[index]
        return random_resized_crop(self.normalise(image, read_image(self.path(image))), self.img_size)


def random_resized_crop(image, size, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
    """RandomResizedCrop + RandomHorizontalFlip as the MAE recipe (torchvision's sampling rule)."""
    _, height, width = image.shape
    area = height * width
    top, left, h, w = 0, 0, height, width
    for _ in range(10):
        target = area * random.uniform(*scale)
        aspect = math.exp(random.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= width and 0 < ch <= height:
            top, left, h, w = random.randint(0, height - ch), random.randint(0, width - cw), ch, cw
            break
    crop = F.interpolate(image[None, :, top:top + h, left:left + w], size=(size, size), mode="bilinear",
                         align_corners=False)[0]
    return crop.flip(-1) if random.random() < 0.5 else crop


# ---------------------------------------------------------------- recipe

def learning_rate(step, peak, minimum, warmup, total):
    if step < warmup:
        return peak * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return minimum + (peak - minimum) * 0.5 * (1 + math.cos(math.pi * progress))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int,
                        help="stop after this many optimizer steps of this job (default: to the run's end)")
    parser.add_argument("--map-root", action="append", default=[], metavar="OLD=NEW",
                        help="rewrite image path prefixes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    args = parser.parse_args()

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")

    job = json.load(open(os.path.join(HERE, "handoff.json")))
    manifest = json.load(open(os.path.join(HERE, "manifest.json")))
    recipe, model_config = job["recipe"], job["model"]
    domain = recipe.get("domainRecipe") or {"name": "mae"}
    if domain["name"] not in ("mae", "deblur"):
        raise SystemExit(f"this job trains the MAE and the Deblurring MAE, not {domain['name']}")
    seed = recipe["seed"] + 1000 * rank + job["startStep"]
    random.seed(seed)
    torch.manual_seed(seed)

    model = Mae(model_config).to(device)
    weights, meta = read_safetensors(os.path.join(HERE, "weights.safetensors"))
    model.load_state_dict({k: v for k, v in weights.items() if not k.startswith("optimizer.")}, strict=True)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if uses_weight_decay(n, p)], "weight_decay": recipe["weightDecay"]},
         {"params": [p for n, p in named if not uses_weight_decay(n, p)], "weight_decay": 0.0}],
        lr=0.0, betas=(recipe["beta1"], recipe["beta2"]), eps=recipe["epsilon"])
    optimizer_step = int(meta.get("optimizerStep", 0))
    for name, param in named:  # continue Adam's moments where the studio left them
        if f"optimizer.m.{name}" in weights:
            optimizer.state[param] = {"step": torch.tensor(float(optimizer_step)),
                                      "exp_avg": weights[f"optimizer.m.{name}"].to(device),
                                      "exp_avg_sq": weights[f"optimizer.v.{name}"].to(device)}
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    images = [image for image in manifest["images"] if image["split"] == "train"]
    root_map = [tuple(pair.split("=", 1)) for pair in args.map_root]
    dataset = ManifestDataset(images, job["data"], model_config["img"], root_map)
    sampler = (torch.utils.data.DistributedSampler(dataset, num_replicas=world, rank=rank, seed=recipe["seed"])
               if distributed else None)
    loader = torch.utils.data.DataLoader(dataset, batch_size=recipe["batchSize"], sampler=sampler,
                                         shuffle=sampler is None, num_workers=args.workers,
                                         drop_last=len(dataset) >= recipe["batchSize"] * world)

    effective = recipe["batchSize"] * recipe["accumSteps"] * world
    # The studio's lr rules (app/train/schedule.ts); runs planned before rules existed are linear.
    linear = recipe["blr"] * effective / 256
    peak = {"linear": linear, "sqrt": recipe["blr"] * math.sqrt(effective / 256), "fixed": recipe["blr"],
            "floor": max(linear, 3e-4)}[recipe.get("lrRule", "linear")]
    total = job["totalSteps"]
    step = job["startStep"]
    stop = min(total, step + args.steps) if args.steps else total
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    metrics = open(os.path.join(out, "metrics.jsonl"), "a") if rank == 0 else None

    def save():
        if rank != 0:
            return
        state = dict(model.state_dict())
        for name, param in named:
            moments = optimizer.state.get(param, {})
            if "exp_avg" in moments:
                state[f"optimizer.m.{name}"] = moments["exp_avg"]
                state[f"optimizer.v.{name}"] = moments["exp_avg_sq"]
        write_safetensors(os.path.join(out, f"checkpoint-{step}.safetensors"), state,
                          {"step": step, "optimizerStep": optimizer_step, "worldSize": world,
                           "torch": torch.__version__})

    if step >= stop and rank == 0:
        print(f"the run is at step {step} of {total}: nothing to train (pass a larger --steps or plan a longer run)",
              flush=True)
    epoch, started = 0, time.time()
    while step < stop:
        if sampler is not None:
            sampler.set_epoch(epoch)
        batches = iter(loader)
        while step < stop:
            lr = learning_rate(step, peak, recipe["minLr"], recipe["warmupSteps"], total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            total_loss, done = 0.0, False
            for _ in range(recipe["accumSteps"]):
                try:
                    imgs = next(batches).to(device)
                except StopIteration:
                    done = True
                    break
                ids = random_shuffle(imgs.shape[0], (model_config["img"] // model_config["patch"]) ** 2).to(device)
                if domain["name"] == "deblur":  # the encoder sees the blurred batch; the target is the sharp one
                    loss = ddp(gaussian_blur(imgs, domain["blurSigma"]), ids, recipe["maskRatio"], imgs)
                else:
                    loss = ddp(imgs, ids, recipe["maskRatio"])  # DDP averages the gradients across processes
                if not math.isfinite(loss.item()):
                    raise SystemExit(f"loss is {loss.item()} at step {step + 1}; lower blr or check the data")
                (loss / recipe["accumSteps"]).backward()
                total_loss += loss.item() / recipe["accumSteps"]
            if done:
                break
            if distributed:  # the logged loss is the mean over processes
                reduced = torch.tensor([total_loss], device=device)
                dist.all_reduce(reduced)
                total_loss = reduced.item() / world
            optimizer.step()
            optimizer_step += 1
            step += 1
            if metrics:
                metrics.write(json.dumps({"step": step, "train_loss": total_loss, "lr": lr,
                                          "time": time.time()}) + "\n")
                metrics.flush()
                print(f"step {step}/{total}  loss {total_loss:.4f}  lr {lr:.3e}  {(time.time() - started):.0f} s",
                      flush=True)
            if step % args.checkpoint_every == 0:
                save()
        epoch += 1
    save()
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
