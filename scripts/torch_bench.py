#!/usr/bin/env python3
"""The PyTorch baseline of `npm run bench`: the design's dense denoising autoencoder (140-128-64-16-64-128-140,
relu hidden layers, sigmoid output) scored and trained exactly as scripts/bench/modelBench.js does with tfjs.

One thread (intra- and inter-op), float32, torch.inference_mode() for scoring. Prints one JSON object on stdout:
  {"ok", "torch_version", "blas", "threads", "scoring": {"wps_b1", "wps_b256", ...}, "training": {"wps", ...}}
Scoring includes what anomalyd's Scorer does per call: input tensor from host memory, forward pass, per-value
squared error, window mean, result back in host memory (numpy). Training is one epoch over the windows per
round: a fresh shuffle, gaussian input noise (the target stays clean), minibatches of 256, Adam, BCE.

Run with Debian's python3-torch and libopenblas0-openmp (without OpenBLAS, Debian's torch uses the reference
BLAS and is about 20x slower, a meaningless baseline):  /usr/bin/python3 scripts/torch_bench.py --json
"""
import argparse
import json
import os
import sys
import time

# Before torch (and its BLAS) load: one thread everywhere.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"


def blas_in_use():
    """Which libblas.so.3 Debian's alternatives system points at (torch links the generic libblas)."""
    for link in ("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", "/etc/alternatives/libblas.so.3"):
        try:
            return os.path.realpath(link)
        except OSError:
            continue
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--input", type=int, default=140)
    ap.add_argument("--seconds", type=float, default=1.0, help="measuring time per scoring round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per measurement; the best is reported")
    ap.add_argument("--train-windows", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=3, help="training epochs; the first is warm-up")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()

    try:
        import torch
        from torch import nn
    except Exception as err:  # noqa: BLE001 - any import failure means "no baseline"
        print(json.dumps({"ok": False, "error": "torch not importable: %s" % err}))
        return 0

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(42)
    d = args.input

    def build():
        sizes = [d, 128, 64, 16, 64, 128]
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers += [nn.Linear(128, d), nn.Sigmoid()]
        return nn.Sequential(*layers).float()

    # Smooth signals in [0, 1] plus a little noise, like scaled ECG beats (timing does not depend on content).
    g = torch.Generator().manual_seed(7)
    n = args.train_windows
    t = torch.linspace(0, 1, d)
    phase = torch.rand(n, 1, generator=g) * 6.283
    freq = 1 + torch.rand(n, 1, generator=g) * 4
    data = (0.5 + 0.35 * torch.sin(freq * t * 6.283 + phase) + 0.05 * torch.randn(n, d, generator=g)).clamp(0, 1).contiguous()
    data_np = data.numpy()

    model = build()
    model.eval()

    def score(batch_np):
        x = torch.from_numpy(batch_np)
        r = model(x)
        return ((x - r) ** 2).mean(dim=1).numpy()

    def rate(batch):
        batches = [data_np[i * batch:(i + 1) * batch] for i in range(max(1, min(64, n // batch)))]
        best = 0.0
        with torch.inference_mode():
            for b in batches[:4]:
                score(b)  # warm-up
            for _ in range(args.rounds):
                done = 0
                k = 0
                t0 = time.perf_counter()
                while True:
                    score(batches[k % len(batches)])
                    k += 1
                    done += batch
                    el = time.perf_counter() - t0
                    if el >= args.seconds:
                        break
                best = max(best, done / el)
        return best

    scoring = {"wps_b1": rate(1), "wps_b256": rate(256)}

    # Training: Adam, BCE, gaussian input noise, shuffled minibatches; per-epoch wall time.
    model = build()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    epoch_s = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        clean = data[perm]
        noisy = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
        for i in range(0, n, args.batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(noisy[i:i + args.batch]), clean[i:i + args.batch])
            loss.backward()
            opt.step()
        float(loss)
        epoch_s.append(time.perf_counter() - t0)
    steady = sorted(epoch_s[1:] or epoch_s)
    median = steady[len(steady) // 2]
    training = {"wps": n / median, "epoch_s": epoch_s, "windows": n, "batch": args.batch}

    out = {
        "ok": True,
        "torch_version": torch.__version__,
        "blas": blas_in_use(),
        "threads": torch.get_num_threads(),
        "scoring": scoring,
        "training": training,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
