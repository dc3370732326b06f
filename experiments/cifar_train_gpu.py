"""CIFAR-10 on an NVIDIA GPU: the CIFAR experiment's networks at a longer schedule, and proxy ground truth on mobiledet_cifar.

    python experiments/cifar_train_gpu.py --prepare        # here: list the networks (results/cifar_gpu_nets.json)
    python experiments/cifar_train_gpu.py --sets searched  # on a GPU host: train (about 8 min on one H100)
    python experiments/cifar_train_gpu.py --report RUNS    # anywhere: proxies, correlations, tables, plot

Two sets, each trained with one schedule for all its networks, top-1 on the 10,000 test images:

1. ``searched``: the networks that experiments/cifar_search_vs_mobilenetv2.py found for cpu, dsp and
   edgetpu, and the MobileNetV2-α references; seeds 0, 1, 2.
2. ``random``: distinct random ``mobiledet_cifar`` networks (``space.random(i)``), seed 0: trained ground
   truth for the proxies outside NAS-Bench-Macro (Spearman of each proxy and of FLOPs with top-1).

Training: SGD + Nesterov (momentum 0.9, weight decay 5e-4), batch 256, peak lr 0.2, linear warm-up over
5 % of the steps then cosine, random crop (4-pixel reflect padding) + flip on the GPU, bf16 autocast,
channels-last; ``--workers`` processes share the GPU; runs are queued seed-major, so a ``--deadline`` cut
leaves every network trained at least once. Measured on one H100 (10 workers, all busy): 0.10-0.17 s per
step of 256, i.e. 6 epochs of one searched network in 2-3.3 min, so the searched set (27 runs) takes about
8 min and the random set (40 runs, 3 epochs) about as long: run them as two calls (``--sets``) where a
call is limited to 10 minutes. The report is computed on the CPU, where the proxies are defined.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from nas import ArchSpec, build_model, count, get_space  # noqa: E402
from nas.io import atomic_write_text  # noqa: E402

RESULTS = HERE / "results"
NETS = RESULTS / "cifar_gpu_nets.json"
SPACE = "mobiledet_cifar"
BATCH, LR, WEIGHT_DECAY = 256, 0.2, 5e-4
DEVICE = os.environ.get("CIFAR_TRAIN_DEVICE", "cuda")  # "cpu" only to check the code path on a machine without a GPU


# -- the networks ------------------------------------------------------------------------------------
def prepare(random_nets: int) -> None:
    """The searched networks (from the CIFAR experiment's results and cached searches) and the random ones."""
    report = json.loads((RESULTS / "cifar_search.json").read_text())
    nets = {row["net"]: row["arch"] for row in report["rows"]}
    trials = report["settings"]["trials"]
    for entry in report["cross_device"]:
        if entry["net"] not in nets:
            found = HERE / "cache" / "cifar" / f"search-{entry['found_for']}-{entry['width']:g}-{trials}" / "best" / "arch.yaml"
            nets[entry["net"]] = ArchSpec.from_yaml(found.read_text()).to_string()
    space = get_space(SPACE)
    random: dict[str, str] = {}
    seed = 0
    while len(random) < random_nets:
        arch = space.random(seed).to_string()
        if arch not in random.values():
            random[f"random-{seed}"] = arch
        seed += 1
    atomic_write_text(NETS, json.dumps({"searched": nets, "random": random}, indent=1))
    print(f"{NETS}: {len(nets)} searched/reference networks, {len(random)} random {SPACE} networks")


# -- training (one worker process per GPU slot) ------------------------------------------------------
DATA: dict = {}


def load_data(subset: int | None) -> None:
    """Worker initializer: CIFAR-10 as uint8 tensors on the GPU, once per process."""
    import torch

    from cifar10_data import cifar10

    torch.set_num_threads(1)
    data = cifar10()
    train_x, train_y, test_x, test_y = data.train_images, data.train_labels, data.val_images, data.val_labels
    if subset:  # every k-th image: the folders are sorted by class
        train_x, train_y = train_x[:: len(train_x) // subset][:subset], train_y[:: len(train_y) // subset][:subset]
        test_x, test_y = test_x[:: 5 * len(test_x) // subset], test_y[:: 5 * len(test_y) // subset]
    mean, std = data.mean_std
    DATA.update(train_x=torch.from_numpy(train_x).to(DEVICE), train_y=torch.from_numpy(train_y.astype(np.int64)).to(DEVICE),
                test_x=torch.from_numpy(test_x).to(DEVICE), test_y=torch.from_numpy(test_y.astype(np.int64)).to(DEVICE),
                mean=mean.to(DEVICE), std=std.to(DEVICE))
    torch.backends.cudnn.benchmark = True


def to_input(images, mean, std):  # type: ignore[no-untyped-def]
    import torch

    return ((images.permute(0, 3, 1, 2).float() / 255.0 - mean) / std).contiguous(memory_format=torch.channels_last)


def augment(images, generator):  # type: ignore[no-untyped-def]
    """Random 32×32 crop of the 4-pixel reflect-padded batch, per image, and a random horizontal flip."""
    import torch

    x = to_input(images, DATA["mean"], DATA["std"])
    b, c, size = x.shape[0], x.shape[1], x.shape[-1]
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    offsets = torch.randint(0, 9, (2, b), device=x.device, generator=generator)
    steps = torch.arange(size, device=x.device)
    rows = (offsets[0, :, None] + steps)[:, None, :, None]
    cols = (offsets[1, :, None] + steps)[:, None, None, :]
    x = padded[torch.arange(b, device=x.device)[:, None, None, None], torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    flip = torch.rand(b, device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x).contiguous(memory_format=torch.channels_last)


def run_job(job: dict) -> dict:
    """``train`` in a worker; a failure (out of GPU memory, say) comes back as the run's ``error`` instead of ending the pool."""
    try:
        return train(job)
    except Exception as error:  # noqa: BLE001 - reported per run
        import torch

        if DEVICE == "cuda":
            torch.cuda.empty_cache()
        return {**job, "top1": None, "error": f"{type(error).__name__}: {error}"[:500]}


def train(job: dict) -> dict:
    """Train one network and return top-1 on the test set."""
    import torch
    from torch import nn

    torch.manual_seed(job["seed"])
    generator = torch.Generator(device=DEVICE).manual_seed(job["seed"])
    model = build_model(ArchSpec.from_string(job["arch"])).to(DEVICE, memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True, weight_decay=WEIGHT_DECAY)
    n = DATA["train_x"].shape[0]
    per_epoch = n // BATCH
    steps = job["epochs"] * per_epoch
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup))))
    model.train()
    start = time.perf_counter()
    order = None
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(n, device=DEVICE, generator=generator)
        index = order[(step % per_epoch) * BATCH : (step % per_epoch + 1) * BATCH]
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(augment(DATA["train_x"][index], generator)), DATA["train_y"][index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if (step + 1) % per_epoch == 0 and not torch.isfinite(loss):
            return {**job, "top1": None, "error": f"loss {float(loss)} at step {step}"}
    synchronize()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad(), torch.autocast(DEVICE, dtype=torch.bfloat16):
        for first in range(0, DATA["test_x"].shape[0], 1000):
            logits = model(to_input(DATA["test_x"][first : first + 1000], DATA["mean"], DATA["std"]))
            correct += int((logits.argmax(1) == DATA["test_y"][first : first + 1000]).sum())
    return {**job, "top1": 100.0 * correct / DATA["test_x"].shape[0], "train_s": round(seconds, 2), "final_loss": loss.item()}


def synchronize() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def run_training(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    spec = json.loads(NETS.read_text())
    keep = ("MobileNetV2-", *(f"{d}-" for d in args.devices))
    sets = {"searched": {net: arch for net, arch in spec["searched"].items() if net.startswith(keep)}, "random": spec["random"]}
    sets = {name: nets for name, nets in sets.items() if name in args.sets}
    if args.smoke:
        sets = {name: dict(list(nets.items())[:2]) for name, nets in sets.items()}
    epochs = {"searched": 1 if args.smoke else args.epochs, "random": 1 if args.smoke else args.random_epochs}
    seeds = {"searched": args.seeds, "random": [0]}
    # seed-major: every network gets its first seed before any gets its second, so a deadline cut
    # leaves every network trained at least once
    jobs = [{"set": name, "net": net, "arch": arch, "seed": seed, "epochs": epochs[name], "batch": BATCH, "lr": LR}
            for name, nets in sets.items() for seed in seeds[name] for net, arch in nets.items()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subset = 2560 if args.smoke else None
    started = time.time()
    deadline = started + args.deadline if args.deadline else float("inf")
    runs: list[dict] = []
    with multiprocessing.get_context("spawn").Pool(args.workers, initializer=load_data, initargs=(subset,)) as pool, \
            open(out / "cifar_gpu_runs.jsonl", "a") as log, tqdm(total=len(jobs), desc="training", unit="run") as bar:
        waiting = [pool.apply_async(run_job, (job,)) for job in jobs]
        while waiting and time.time() < deadline:
            for item in [item for item in waiting if item.ready()]:
                waiting.remove(item)
                runs.append(item.get())
                log.write(json.dumps(runs[-1]) + "\n")
                log.flush()
                bar.update()
            time.sleep(0.5)
        if waiting:
            print(f"deadline reached: {len(waiting)} runs unfinished; the {len(runs)} finished are in the results", flush=True)
        pool.terminate()
    import torch

    meta = {"gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE, "torch": torch.__version__, "epochs": epochs, "workers": args.workers,
            "batch": BATCH, "lr": LR, "weight_decay": WEIGHT_DECAY, "train_images": subset or 50000, "seconds": round(time.time() - started, 1),
            "runs_asked": len(jobs), "smoke": args.smoke}
    atomic_write_text(out / "cifar_gpu_runs.json", json.dumps({"meta": meta, "runs": runs}, indent=1))
    print(json.dumps(meta, indent=1))


# -- report (CPU) ------------------------------------------------------------------------------------
PROXIES = ("default", "naswot", "synflow", "zen", "macs", "params", "depth")


def spearman(a, b) -> float:  # type: ignore[no-untyped-def]
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def report(runs_file: Path) -> None:
    from nas.proxies import get_proxy

    saved = json.loads(Path(runs_file).read_text())
    meta, runs = saved["meta"], [r for r in saved["runs"] if r.get("top1") is not None]
    spec = json.loads(NETS.read_text())
    result: dict = {"meta": meta, "finished": len(runs), "searched": {}, "random": {}}
    for net, arch in spec["searched"].items():
        values = [r["top1"] for r in runs if r["set"] == "searched" and r["net"] == net]
        if values:
            result["searched"][net] = {"top1_runs": values, "top1_mean": float(np.mean(values)),
                                       "top1_std": float(np.std(values, ddof=1)) if len(values) > 1 else None, "macs": count(ArchSpec.from_string(arch)).macs}
    rows = []
    for net, arch_string in spec["random"].items():
        found = [r["top1"] for r in runs if r["set"] == "random" and r["net"] == net]
        if not found:
            continue
        arch = ArchSpec.from_string(arch_string)
        scores = {name: get_proxy(name).evaluate(arch, seed=0).score for name in PROXIES}
        rows.append({"net": net, "top1": found[0], **{f"proxy_{k}": v for k, v in scores.items()}})
    result["random"] = {"rows": rows, "spearman": {name: spearman([r[f"proxy_{name}"] for r in rows], [r["top1"] for r in rows]) for name in PROXIES}
                        if len(rows) > 2 else {}}
    atomic_write_text(RESULTS / "cifar_gpu.json", json.dumps(result, indent=1))
    atomic_write_text(RESULTS / "cifar_gpu.md", markdown(result))
    plot(result, RESULTS / "cifar_gpu.png")
    print(markdown(result))


def fmt(entry: dict | None) -> str:
    if not entry:
        return "—"
    text = f"{entry['top1_mean']:.2f}" + (f" ± {entry['top1_std']:.2f}" if entry["top1_std"] is not None else "")
    return text if len(entry["top1_runs"]) >= 3 else f"{text} (n={len(entry['top1_runs'])})"


def markdown(result: dict) -> str:
    meta, searched = result["meta"], result["searched"]
    lines = [f"GPU schedule ({meta['gpu']}, torch {meta['torch']}): searched set {meta['epochs']['searched']} epochs, random set "
             f"{meta['epochs'].get('random', '—')} epochs over {meta['train_images']:,} training images; batch {meta['batch']}, peak lr {meta['lr']}, "
             f"warm-up + cosine, crop + flip, bf16; top-1 on the 10,000 test images; {result['finished']} runs finished"
             + (f" of {meta['runs_asked']} queued" if "runs_asked" in meta else "") + f" in {meta['seconds'] / 60:.1f} min wall.", "",
             "| device | α | MobileNetV2-α top-1 | searched top-1 | Δ |", "|---|---|---|---|---|"]
    for device in ("cpu", "dsp", "edgetpu"):
        for width in ("0.35", "0.5", "0.75"):
            ref, got = searched.get(f"MobileNetV2-{width}"), searched.get(f"{device}-{width}")
            delta = f"{got['top1_mean'] - ref['top1_mean']:+.2f}" if ref and got else "—"
            lines.append(f"| {device} | {width} | {fmt(ref)} | {fmt(got)} | {delta} |")
    random = result["random"]
    if random.get("spearman"):
        lines += ["", f"Random `{SPACE}` networks (n = {len(random['rows'])}, one seed): Spearman with top-1", "",
                  "| " + " | ".join(PROXIES) + " |", "|---" * len(PROXIES) + "|",
                  "| " + " | ".join(f"{random['spearman'][p]:.3f}" for p in PROXIES) + " |"]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["random"]["rows"]
    random_panels = 2 if result["random"]["spearman"] else 0  # proxy and MACs vs top-1, once random networks trained
    fig, axes = plt.subplots(1, random_panels + 1, figsize=(4.7 * (random_panels + 1), 4.2), squeeze=False)
    for ax, name, label in zip(axes[0][:random_panels], ("default", "macs"), ("default proxy score", "MACs")):
        ax.scatter([r[f"proxy_{name}"] for r in rows], [r["top1"] for r in rows], s=14)
        ax.set_title(f"random {SPACE}: Spearman {result['random']['spearman'][name]:.3f}")
        ax.set_xlabel(label)
        ax.set_ylabel("CIFAR-10 top-1 (%)")
        ax.set_xscale("log" if name == "macs" else "linear")
    ax = axes[0][-1]
    for prefix, style in (("MobileNetV2-", "ks--"), ("cpu-", "o-"), ("dsp-", "^-"), ("edgetpu-", "v-")):
        points = [(float(net.rsplit("-", 1)[1]), e["top1_mean"], e["top1_std"] or 0.0) for net, e in result["searched"].items() if net.startswith(prefix)]
        if points:
            x, y, err = zip(*sorted(points))
            ax.errorbar(x, y, yerr=err, fmt=style, capsize=3, label=prefix.rstrip("-") + (" (reference)" if prefix.startswith("Mobile") else " searched"))
    ax.set_xlabel("latency target = MobileNetV2-α latency (α)")
    ax.set_ylabel("CIFAR-10 top-1 (%)")
    ax.set_title("searched vs MobileNetV2-α (GPU schedule)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="write results/cifar_gpu_nets.json from the CIFAR experiment and exit")
    parser.add_argument("--random-nets", type=int, default=40, help="random mobiledet_cifar networks (with --prepare)")
    parser.add_argument("--report", type=Path, metavar="RUNS", help="compute proxies and write results/cifar_gpu.* from a runs file")
    parser.add_argument("--sets", nargs="+", choices=("searched", "random"), default=["searched", "random"], help="which sets to train")
    parser.add_argument("--epochs", type=int, default=6, help="epochs for the searched set")
    parser.add_argument("--random-epochs", type=int, default=3, help="epochs for the random set")
    parser.add_argument("--deadline", type=float, help="seconds after which unfinished runs are dropped (finished ones are kept)")
    parser.add_argument("--workers", type=int, default=10, help="training processes sharing the GPU")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--devices", nargs="+", default=["cpu", "dsp"], help="train the networks found for these devices (and the references)")
    parser.add_argument("--out", default=os.environ.get("OUT", str(RESULTS)), help="folder for the runs file (default $OUT or results/)")
    parser.add_argument("--smoke", action="store_true", help="2 + 2 networks on 2,560 images: checks every step in about a minute")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.random_nets)
    elif args.report:
        report(args.report)
    else:
        run_training(args)


if __name__ == "__main__":
    main()
