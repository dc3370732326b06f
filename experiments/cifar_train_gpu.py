"""CIFAR-10 on an NVIDIA GPU: the CIFAR experiment's networks at a longer schedule, and proxy ground truth on mobiledet_cifar.

    python -m experiments.cifar_train_gpu --prepare        # here: list the networks (results/cifar_gpu_nets.json)
    python -m experiments.cifar_train_gpu --sets searched  # on a GPU host: train (about 8 min on one H100)
    python -m experiments.cifar_gpu_report RUNS...        # anywhere: proxies, correlations, tables, plot

Two sets, each trained with one schedule for all its networks, top-1 on the 10,000 test images:

1. ``searched``: the networks that experiments/cifar_search_vs_mobilenetv2.py found for cpu, dsp and
   edgetpu, and the MobileNetV2-α references; seeds 0, 1, 2.
2. ``random``: distinct random ``mobiledet_cifar`` networks (``space.random(i)``), seed 0: trained ground
   truth for the proxies outside NAS-Bench-Macro (Spearman of each proxy and of FLOPs with top-1).
3. ``band``: the random networks of experiments/proxy_generalisation.py (``cpu`` table latency between
   MobileNetV2-0.35's and -0.5's, the range the CIFAR searches choose in): the harder ranking of
   networks of similar cost. Seeds of the random and band sets: ``--random-seeds`` (default 0).
4. ``band_fresh``: a second band sample, drawn from ``space.random`` seeds from ``FRESH_FIRST_SEED`` on,
   which no earlier choice has seen: a held-out check of what the ``band`` set showed.

Training: SGD + Nesterov (momentum 0.9, weight decay 5e-4), batch 256, peak lr 0.1, linear warm-up over
the first epoch then cosine (see ``LR``), random crop (4-pixel reflect padding) + flip on the GPU, bf16 autocast,
channels-last; ``--workers`` processes share the GPU; runs are queued seed-major, so a ``--deadline`` cut
leaves every network trained at least once. Measured on one H100 (10 workers, all busy): 0.10-0.17 s per
step of 256, i.e. 6 epochs of one searched network in 2-3.3 min, so the searched set (27 runs) takes about
8 min and the random + band sets (64 runs, 3 epochs, 14 workers) 8.1 min: run them as two calls (``--sets``)
where a call is limited to 10 minutes. The report (experiments/cifar_gpu_report.py) is computed on the CPU,
where the proxies are defined. A call into a folder that already holds runs (``--out``) trains only what is
missing, so a cut run can be resumed. Without a GPU, ``CIFAR_TRAIN_DEVICE=cpu`` trains the same schedule in
fp32 (a band network: 8-37 min per run on one core, median 18; ``--workers 2`` on this 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from nas import ArchSpec, build_model, get_space
from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent

RESULTS = HERE / "results"
NETS = RESULTS / "cifar_gpu_nets.json"
FRESH_FIRST_SEED = 1_000_000  # the band set's networks come from seeds below 50,000
RANDOM_SETS = ("random", "band", "band_fresh")  # trained and reported alike (random networks, --random-epochs)
SPACE = "mobiledet_cifar"
BATCH, WEIGHT_DECAY = 256, 5e-4
# Peak lr and linear warm-up. The first runs (lr 0.2, warm-up over 5 % of the steps) diverged early: the loss
# rose from 2.3 to 4-5 in the first epoch, and where it landed set the final top-1 (one band network, seeds 0
# and 1: 61.2 / 42.0 on the GPU, 62.1 / 48.1 in fp32 on a CPU), so the random sets' seed-to-seed Spearman
# was 0.29. At lr 0.1 with one epoch of warm-up the same network's loss stays within 2.5 (experiments/gpu_schedule_check.py).
LR, WARMUP_EPOCHS = 0.1, 1.0
DEVICE = os.environ.get("CIFAR_TRAIN_DEVICE", "cuda")  # "cpu" only to check the code path on a machine without a GPU


# -- the networks ------------------------------------------------------------------------------------
def prepare(random_nets: int, band_nets: int, fresh_nets: int) -> None:
    """The searched networks (from the CIFAR experiment's results and cached searches), the random, band and fresh band ones.

    A set already in the file is kept as it is: runs trained against it stay matched to their networks.
    """
    saved = json.loads(NETS.read_text()) if NETS.exists() else {}
    if "searched" not in saved:
        report = json.loads((RESULTS / "cifar_search.json").read_text())
        nets = {row["net"]: row["arch"] for row in report["rows"]}
        trials = report["settings"]["trials"]
        for entry in report["cross_device"]:
            if entry["net"] not in nets:
                found = HERE / "cache" / "cifar" / f"search-{entry['found_for']}-{entry['width']:g}-{trials}" / "best" / "arch.yaml"
                nets[entry["net"]] = ArchSpec.from_yaml(found.read_text()).to_string()
        saved["searched"] = nets
    if "random" not in saved:
        space = get_space(SPACE)
        random: dict[str, str] = {}
        seed = 0
        while len(random) < random_nets:
            arch = space.random(seed).to_string()
            if arch not in random.values():
                random[f"random-{seed}"] = arch
            seed += 1
        saved["random"] = random
    from experiments.proxy_generalisation import random_networks

    if "band" not in saved:
        saved["band"] = {name.replace("random-", "band-"): arch.to_string() for name, arch in random_networks(band_nets).items()}
    if "band_fresh" not in saved:
        fresh = random_networks(fresh_nets, first_seed=FRESH_FIRST_SEED)
        saved["band_fresh"] = {name.replace("random-", "fresh-"): arch.to_string() for name, arch in fresh.items()}
    atomic_write_text(NETS, json.dumps(saved, indent=1))
    print(f"{NETS}: " + ", ".join(f"{len(nets)} {name}" for name, nets in saved.items()) + " networks")


# -- training (one worker process per GPU slot) ------------------------------------------------------
DATA: dict = {}


def load_data(subset: int | None) -> None:
    """Worker initializer: CIFAR-10 as uint8 tensors on the GPU, once per process."""
    import torch

    from experiments._lib.data import cifar10

    torch.set_num_threads(1)
    data = cifar10()
    train_x, train_y, test_x, test_y = data.train_images, data.train_labels, data.val_images, data.val_labels
    if subset:  # every k-th image: the folders are sorted by class
        train_x, train_y = train_x[:: len(train_x) // subset][:subset], train_y[:: len(train_y) // subset][:subset]
        test_x, test_y = test_x[:: 5 * len(test_x) // subset], test_y[:: 5 * len(test_y) // subset]
    mean, std = data.mean_std
    DATA.update(
        train_x=torch.from_numpy(train_x).to(DEVICE),
        train_y=torch.from_numpy(train_y.astype(np.int64)).to(DEVICE),
        test_x=torch.from_numpy(test_x).to(DEVICE),
        test_y=torch.from_numpy(test_y.astype(np.int64)).to(DEVICE),
        mean=mean.to(DEVICE),
        std=std.to(DEVICE),
    )
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
    except Exception as error:
        import torch

        if DEVICE == "cuda":
            torch.cuda.empty_cache()
        return {**job, "top1": None, "error": f"{type(error).__name__}: {error}"[:500]}


def train(job: dict) -> dict:
    """Train one network and return top-1 on the test set, and per epoch the largest training loss (and, with
    ``job["eval_each_epoch"]``, test top-1): a loss far above its initial ln 10 = 2.3 means the schedule diverged."""
    import torch
    from torch import nn

    torch.manual_seed(job["seed"])
    generator = torch.Generator(device=DEVICE).manual_seed(job["seed"])
    model = build_model(ArchSpec.from_string(job["arch"])).to(DEVICE, memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=job["lr"], momentum=0.9, nesterov=True, weight_decay=WEIGHT_DECAY)
    n = DATA["train_x"].shape[0]
    per_epoch = n // BATCH
    steps = job["epochs"] * per_epoch
    warmup = max(1, round(job["warmup_epochs"] * per_epoch))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup)))
    )
    model.train()
    start = time.perf_counter()
    order, peak, max_loss, top1_epochs = None, torch.zeros((), device=DEVICE), [], []
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(n, device=DEVICE, generator=generator)
        index = order[(step % per_epoch) * BATCH : (step % per_epoch + 1) * BATCH]
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):
            loss = nn.functional.cross_entropy(model(augment(DATA["train_x"][index], generator)), DATA["train_y"][index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        peak = torch.maximum(peak, loss.detach().float())  # on the device: no synchronisation per step
        if (step + 1) % per_epoch == 0:
            if not torch.isfinite(loss):
                return {**job, "top1": None, "error": f"loss {float(loss)} at step {step}"}
            max_loss.append(round(float(peak), 3))
            peak.zero_()
            if job.get("eval_each_epoch"):
                top1_epochs.append(evaluate(model))  # the last one is the result: no second evaluation
                model.train()
    synchronize()
    seconds = time.perf_counter() - start  # includes the per-epoch evaluations, if asked
    top1 = top1_epochs[-1] if top1_epochs else evaluate(model)
    extra = {"top1_epochs": top1_epochs} if top1_epochs else {}
    return {**job, "top1": top1, "train_s": round(seconds, 2), "final_loss": loss.item(), "max_loss_epochs": max_loss, **extra}


def evaluate(model) -> float:  # type: ignore[no-untyped-def]
    """Top-1 (%) on the test images, BN in inference mode."""
    import torch

    model.eval()
    correct = 0
    with torch.no_grad(), torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):
        for first in range(0, DATA["test_x"].shape[0], 1000):
            logits = model(to_input(DATA["test_x"][first : first + 1000], DATA["mean"], DATA["std"]))
            correct += int((logits.argmax(1) == DATA["test_y"][first : first + 1000]).sum())
    return 100.0 * correct / DATA["test_x"].shape[0]


def synchronize() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def run_key(run: dict) -> tuple:
    """What makes two runs the same: network, seed and schedule."""
    return tuple(run.get(k) for k in ("set", "net", "arch", "seed", "epochs", "batch", "lr", "warmup_epochs", "train_images"))


def finished_runs(log: Path, jobs: list[dict]) -> list[dict]:
    """The runs of ``jobs`` that the log already holds with a top-1 (a line cut short by a kill is skipped)."""
    wanted, found = {run_key(job) for job in jobs}, {}
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        if run.get("top1") is not None and run_key(run) in wanted:
            found[run_key(run)] = run
    return list(found.values())


def run_training(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    spec = json.loads(NETS.read_text())
    keep = ("MobileNetV2-", *(f"{d}-" for d in args.devices))
    sets = {
        "searched": {net: arch for net, arch in spec["searched"].items() if net.startswith(keep)},
        **{name: spec.get(name, {}) for name in RANDOM_SETS},
    }
    sets = {name: sets[name] for name in args.sets}  # in the order asked: a deadline cut falls on the last
    if args.smoke:
        sets = {name: dict(list(nets.items())[:2]) for name, nets in sets.items()}
    epochs = {"searched": 1 if args.smoke else args.epochs, **{name: 1 if args.smoke else args.random_epochs for name in RANDOM_SETS}}
    seeds = {"searched": args.seeds, **{name: args.random_seeds for name in RANDOM_SETS}}
    # seed-major: every network gets its first seed before any gets its second, so a deadline cut
    # leaves every network trained at least once
    subset = 2560 if args.smoke else None
    jobs = [
        {
            "set": name,
            "net": net,
            "arch": arch,
            "seed": seed,
            "epochs": epochs[name],
            "batch": BATCH,
            "lr": args.lr,
            "warmup_epochs": args.warmup_epochs,
            "train_images": subset or 50000,
        }
        for name, nets in sets.items()
        for seed in seeds[name]
        for net, arch in nets.items()
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    asked, log_file = len(jobs), out / "cifar_gpu_runs.jsonl"
    runs = finished_runs(log_file, jobs)  # an earlier call into the same folder: resume it
    jobs = [job for job in jobs if run_key(job) not in {run_key(r) for r in runs}]
    if runs:
        print(f"{len(runs)} of the {asked} runs already finished in {log_file}: not trained again", flush=True)
    if log_file.exists() and not log_file.read_bytes().endswith(b"\n"):  # a line cut short by a kill: start a fresh one
        with open(log_file, "a") as log:
            log.write("\n")
    import torch

    started = time.time()
    deadline = started + args.deadline if args.deadline else float("inf")
    meta = {
        "gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE,
        "torch": torch.__version__,
        "epochs": epochs,
        "workers": args.workers,
        "batch": BATCH,
        "lr": args.lr,
        "warmup_epochs": args.warmup_epochs,
        "weight_decay": WEIGHT_DECAY,
        "train_images": subset or 50000,
        "runs_asked": asked,
        "smoke": args.smoke,
    }

    def save() -> None:  # after every run: a kill leaves a runs file that --report reads
        seconds = sum(r.get("train_s", 0.0) for r in runs)  # training time of every run, also of those resumed
        atomic_write_text(
            out / "cifar_gpu_runs.json",
            json.dumps(
                {"meta": {**meta, "seconds": round(time.time() - started, 1), "train_s_total": round(seconds, 1)}, "runs": runs}, indent=1
            ),
        )

    # `kill PID` unwinds the pool below, which stops its workers; by default they would train on, orphaned, for hours
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with (
        multiprocessing.get_context("spawn").Pool(args.workers, initializer=load_data, initargs=(subset,)) as pool,
        open(log_file, "a") as log,
        tqdm(total=len(jobs), desc="training", unit="run") as bar,
    ):
        waiting = [pool.apply_async(run_job, (job,)) for job in jobs]
        while waiting and time.time() < deadline:
            for item in [item for item in waiting if item.ready()]:
                waiting.remove(item)
                runs.append(item.get())
                log.write(json.dumps(runs[-1]) + "\n")
                log.flush()
                save()
                bar.update()
            time.sleep(0.5)
        if waiting:
            print(f"deadline reached: {len(waiting)} runs unfinished; the {len(runs)} finished are in the results", flush=True)
        pool.terminate()
    save()
    print(json.dumps(meta, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="write results/cifar_gpu_nets.json from the CIFAR experiment and exit")
    parser.add_argument("--random-nets", type=int, default=40, help="random mobiledet_cifar networks (with --prepare)")
    parser.add_argument("--band-nets", type=int, default=24, help="random networks in the latency band (with --prepare)")
    parser.add_argument("--fresh-nets", type=int, default=24, help="networks of the fresh band sample (with --prepare)")
    parser.add_argument(
        "--sets", nargs="+", choices=("searched", *RANDOM_SETS), default=["searched", "random", "band"], help="which sets to train"
    )
    parser.add_argument("--epochs", type=int, default=6, help="epochs for the searched set")
    parser.add_argument("--random-epochs", type=int, default=3, help="epochs for the random and band sets")
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    parser.add_argument("--warmup-epochs", type=float, default=WARMUP_EPOCHS, help="linear warm-up, in epochs")
    parser.add_argument("--deadline", type=float, help="seconds after which unfinished runs are dropped (finished ones are kept)")
    parser.add_argument("--workers", type=int, default=10, help="training processes sharing the GPU")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the searched set")
    parser.add_argument("--random-seeds", type=int, nargs="+", default=[0], help="seeds of the random and band sets")
    parser.add_argument(
        "--devices", nargs="+", default=["cpu", "dsp"], help="train the networks found for these devices (and the references)"
    )
    parser.add_argument("--out", default=os.environ.get("OUT", str(RESULTS)), help="folder for the runs file (default $OUT or results/)")
    parser.add_argument("--smoke", action="store_true", help="2 + 2 networks on 2,560 images: checks every step in about a minute")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.random_nets, args.band_nets, args.fresh_nets)
    else:
        run_training(args)


if __name__ == "__main__":
    main()
