#!/usr/bin/env bash
# Probes on a real labelled set: scikit-learn's digits (1 797 grey 8×8 images of 10 handwritten
# digits, UCI), written as 32×32 PNGs in one folder per class, imported, pretrained with the
# studio's recipe defaults on a small ViT (192d × 4 blocks, 32 px, patch 8, decoder 128×2),
# then probed: linear and kNN, best block and every block, pretrained / random init / raw pixels
# with 95 % intervals. Needs Debian's python3-sklearn. Takes ~10–25 min on 2 cores.
#   bench/probe-digits.sh [OUT_DIR] [extra pretrain flags, e.g. --blr 0.032]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/mae-digits}; shift || true
# MAE_STUDIO_CLI: another build of the CLI (e.g. a copy of dist) to keep working while it runs.
CLI=${MAE_STUDIO_CLI:-node dist/cli/cli.js}
mkdir -p "$OUT"
if [ ! -d "$OUT/images" ]; then
  /usr/bin/python3 - "$OUT/images" <<'PY'
import os, sys
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
digits = load_digits()
for index, (image, label) in enumerate(zip(digits.images, digits.target)):
    folder = os.path.join(sys.argv[1], str(label))
    os.makedirs(folder, exist_ok=True)
    pixels = (image / 16 * 255).astype(np.uint8)  # 0..16 → 8-bit grey
    Image.fromarray(pixels).resize((32, 32), Image.NEAREST).save(os.path.join(folder, f'{index:04d}.png'))
PY
fi
WS="$OUT/ws-$(date +%s)"
$CLI init --workspace "$WS" --name Digits --json >/dev/null
$CLI import --workspace "$WS" --project 1 "$OUT/images" --json |
  node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); console.error(`imported ${r.imported}`)'
$CLI pretrain --workspace "$WS" --project 1 --img 32 --patch 8 --depth 4 --decoder 128x2 "$@" --json \
  > "$WS/pretrain.json"
echo "pretrain: $(cat "$WS/pretrain.json")" >&2
probe() { $CLI probe --workspace "$WS" --run 1 "$@" --json; }
{
  for method in linear knn; do
    for block in best 1 2 3 4; do probe --method "$method" --block "$block"; done
  done
} > "$WS/probes.jsonl"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const pct = (v) => (v * 100).toFixed(1);
const ci = (i) => `[${pct(i.low)}, ${pct(i.high)}]`;
console.log("| probe | block | pretrained | random init | raw pixels | gain over random init | n val |");
console.log("|---|---|---|---|---|---|---|");
for (const r of lines) {
  const cv = () => r.block.selection.map((s) => pct(s.accuracy)).join(" / ");
  const b = r.block.requested === "best" ? `best → ${r.block.chosen} (CV ${cv()})` : String(r.block.chosen);
  const cells = [
    r.method === "knn" ? `kNN k=${r.k}` : "linear",
    b,
    `${pct(r.accuracy)} ${ci(r.interval)}`,
    `${pct(r.baseline.randomInit)} ${ci(r.baseline.randomInitInterval)}`,
    `${pct(r.baseline.rawPixels)} ${ci(r.baseline.rawPixelsInterval)}`,
    `${pct(r.gain.randomInit.estimate)} ${ci(r.gain.randomInit)}`,
    r.valImages,
  ];
  console.log(`| ${cells.join(" | ")} |`);
}' "$WS/probes.jsonl" | tee "$WS/table.md"
