"""Training speed of `imgperc train style` on this machine: images/s per precision.

Runs the trainer's own job (StyleJob: johnson net, perceptual loss) for a few timed iterations
of forward + backward + Adam step, after warm-up, in each precision asked for. Needs the loss
network's weights (the vgg19 preset fetches them through the hub: set IMGPERC_MIRROR offline).

    python benchmarks/train_speed.py --size 256 --batch-size 4 --precisions fp32,bf16
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from imgperc.precision import native_bf16, resolve
from imgperc.train.runtime import autocast

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per precision")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--preset", default="vgg19-relu3")
    parser.add_argument("--style-layers", default="relu1_2,relu2_2,relu3_1")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "plugins"))
    from imgperc_style.train import StyleJob, parse_layers

    device = torch.device(args.device)
    job = StyleJob(SHARED / "styles" / "mosaic.jpg", SHARED / "content", image_size=args.size, preset=args.preset,
                   style_layers=parse_layers(args.style_layers), channels=args.channels)
    job.setup(device)
    batch = (torch.rand(args.batch_size, 3, args.size, args.size, device=device),)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, "
          f"native CPU bf16: {native_bf16(torch.device('cpu'))}")
    print(f"johnson channels {args.channels}, {args.preset} style {args.style_layers}, {args.size}x{args.size}, batch {args.batch_size}, {device}")
    for precision in args.precisions.split(","):
        precision = resolve(precision, device, "training")
        torch.manual_seed(0)
        net = job.build_net().to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        times = []
        for step in range(args.warmup + args.iterations):
            start = time.perf_counter()
            with autocast(precision, device):
                report = job.loss(net, batch)
            optimizer.zero_grad(set_to_none=True)
            report.total.float().backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
        per_iteration = sum(times) / len(times)
        print(f"{precision:>5}: {per_iteration:7.2f} s/iteration  {args.batch_size / per_iteration:7.3f} images/s")


if __name__ == "__main__":
    main()
