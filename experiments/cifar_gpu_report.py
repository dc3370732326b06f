"""The report half of experiments/cifar_train_gpu.py: proxies, correlations, tables and a plot from its runs files.

Run as ``python -m experiments.cifar_gpu_report RUNS... [--name NAME]``. It is computed on the CPU,
where the proxies are defined. It merges runs files (one per GPU call, or a CPU folder) and refuses to mix two
schedules in one set, or two runs of one network and seed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from experiments.cifar_train_gpu import FRESH_FIRST_SEED, NETS, RANDOM_SETS, RESULTS, SPACE
from nas import ArchSpec, count
from nas.io import atomic_write_text

PROXIES = ("default", "naswot", "swap", "zen", "synflow", "zico", "macs", "params", "depth")


def spearman(a, b) -> float:  # type: ignore[no-untyped-def]
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def report(runs_files: list[Path], report_name: str | None = None) -> None:
    """Proxies and correlations from one or more runs files (one GPU call each: a set, a seed added later), written
    to results/cifar_gpu.* or, with ``report_name``, results/cifar_gpu_<report_name>.* (one report per schedule)."""
    from nas.proxies import get_proxy

    saved = [json.loads(Path(f).read_text()) for f in runs_files]
    metas = [
        {
            **s["meta"],
            "file": shown(Path(f)),
            "finished": sum(r.get("top1") is not None for r in s["runs"]),
            "sets": sorted({r["set"] for r in s["runs"]}),
        }
        for f, s in zip(runs_files, saved)
    ]
    for name in ("searched", *RANDOM_SETS):
        schedules = {(m["lr"], m.get("warmup_epochs"), m["epochs"][name]): m["file"] for m in metas if name in m["sets"]}
        if len(schedules) > 1:
            raise SystemExit(
                f"{' and '.join(schedules.values())} train the {name} set with different schedules "
                f"(lr, warm-up epochs, epochs: {', '.join(map(str, schedules))}); report them separately"
            )
    runs = [r for s in saved for r in s["runs"] if r.get("top1") is not None]
    seen: dict[tuple, str] = {}
    for file, s in zip(runs_files, saved):
        for r in s["runs"]:
            key = (r["set"], r["net"], r["seed"])
            if r.get("top1") is not None and seen.setdefault(key, str(file)) != str(file):
                raise SystemExit(f"{seen[key]} and {file} both train {r['net']} with seed {r['seed']}; report one of them")
    spec = json.loads(NETS.read_text())
    result: dict = {"meta": metas, "finished": len(runs), "searched": {}}
    for net, arch in spec["searched"].items():
        values = [r["top1"] for r in runs if r["set"] == "searched" and r["net"] == net]
        if values:
            result["searched"][net] = {
                "top1_runs": values,
                "top1_mean": float(np.mean(values)),
                "top1_std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                "macs": count(ArchSpec.from_string(arch)).macs,
            }
    for name in RANDOM_SETS:
        trained = [r for r in runs if r["set"] == name]
        if trained:  # a set no runs file trains is left out, not reported as complete and empty
            result[name] = random_set(spec.get(name, {}), trained, get_proxy)
    stem = RESULTS / ("cifar_gpu" + (f"_{report_name}" if report_name else ""))
    atomic_write_text(stem.with_suffix(".json"), json.dumps(result, indent=1))
    atomic_write_text(stem.with_suffix(".md"), markdown(result))
    plot(result, stem.with_suffix(".png"))
    print(markdown(result))


def shown(path: Path) -> str:
    """A runs file as the report names it: its name, with its folder when that is not results/."""
    return path.name if path.resolve().parent == RESULTS else f"{path.resolve().parent.name}/{path.name}"


def random_set(nets: dict[str, str], runs: list[dict], get_proxy) -> dict:  # type: ignore[no-untyped-def]
    """Per network: top-1 of each seed, their mean over the seeds every network has (``ranked_seeds``) and every
    proxy's score; Spearman of each proxy with that mean, its bootstrap interval against MACs, and how well one
    seed ranks another (what a perfect proxy could reach against one seed) over the networks that have every seed.

    A seed still being trained is left out of the ranking, so a set reports its finished seeds while the next runs."""
    from experiments.proxy_generalisation import seed_to_seed, versus_macs

    seeds = sorted({r["seed"] for r in runs})
    top1 = {net: {r["seed"]: r["top1"] for r in runs if r["net"] == net} for net in nets}
    ranked = [seed for seed in seeds if all(seed in t for t in top1.values())] if nets else []
    rows = []
    for net, arch_string in nets.items():
        if not top1[net]:
            continue
        arch = ArchSpec.from_string(arch_string)
        scores = {proxy: get_proxy(proxy).evaluate(arch, seed=0).score for proxy in PROXIES}
        mean = float(np.mean([top1[net][s] for s in ranked])) if ranked else None
        rows.append({"net": net, "top1": mean, "top1_seeds": top1[net], **{f"proxy_{k}": v for k, v in scores.items()}})
    every_seed = {net: t for net, t in top1.items() if t and set(t) == set(seeds)}
    runs_done = sum(len(t) for t in top1.values())
    result = {
        "rows": rows,
        "seeds": seeds,
        "ranked_seeds": ranked,
        "complete": runs_done == len(nets) * len(seeds),
        "runs_done": runs_done,
        "runs_in_set": len(nets) * len(seeds),
        "seed_to_seed": seed_to_seed(every_seed),
        "seed_to_seed_n": len(every_seed),
        "spearman": {},
        "vs_macs_90": None,
    }
    if ranked and len(rows) > 2:
        truth = {r["net"]: r["top1"] for r in rows}
        scores = {proxy: {r["net"]: r[f"proxy_{proxy}"] for r in rows} for proxy in PROXIES}
        result["spearman"] = {proxy: spearman(list(scores[proxy].values()), list(truth.values())) for proxy in PROXIES}
        result["vs_macs_90"] = versus_macs(scores, truth, list(truth)) if len(rows) >= 12 else None
    return result


def fmt(entry: dict | None) -> str:
    if not entry:
        return "—"
    text = f"{entry['top1_mean']:.2f}" + (f" ± {entry['top1_std']:.2f}" if entry["top1_std"] is not None else "")
    return text if len(entry["top1_runs"]) >= 3 else f"{text} (n={len(entry['top1_runs'])})"


def markdown(result: dict) -> str:
    searched = result["searched"]
    lines = [
        "Schedule: batch 256, linear warm-up + cosine, crop + flip, bf16 on a GPU (fp32 on a CPU); trained on the 50,000 "
        "training images, top-1 on the 10,000 test images. Runs files:",
        "",
    ]
    for meta in result["meta"]:
        epochs = ", ".join(f"{name} {meta['epochs'][name]}" for name in meta["sets"])
        warmup = f"{meta['warmup_epochs']:g} epoch" if "warmup_epochs" in meta else "5 % of the steps"
        lines.append(
            f"- {meta['file']}: {meta['gpu']}, torch {meta['torch']}, epochs ({epochs}), peak lr {meta['lr']:g}, warm-up {warmup}, "
            f"{meta['finished']} runs finished"
            + (f" of {meta['runs_asked']} queued" if "runs_asked" in meta else "")
            + f" in {meta['seconds'] / 60:.1f} min wall"
            + (f" (last call; {meta['train_s_total'] / 3600:.1f} h of training summed over runs)" if "train_s_total" in meta else "")
        )
    if searched:
        lines += ["", "| device | α | MobileNetV2-α top-1 | searched top-1 | Δ |", "|---|---|---|---|---|"]
    for device in ("cpu", "dsp", "edgetpu") if searched else ():
        for width in ("0.35", "0.5", "0.75"):
            ref, got = searched.get(f"MobileNetV2-{width}"), searched.get(f"{device}-{width}")
            delta = f"{got['top1_mean'] - ref['top1_mean']:+.2f}" if ref and got else "—"
            lines.append(f"| {device} | {width} | {fmt(ref)} | {fmt(got)} | {delta} |")
    titles = {
        "random": f"Random `{SPACE}` networks",
        "band": f"Random `{SPACE}` networks in the latency band of experiments/proxy_generalisation.py",
        "band_fresh": f"A fresh sample of random `{SPACE}` networks in the same band (seeds from {FRESH_FIRST_SEED:,}; held out)",
    }
    for name, title in titles.items():
        entry = result.get(name, {})
        if not entry.get("spearman"):
            if entry.get("runs_done"):
                lines += [
                    "",
                    f"{title}: being trained, {entry['runs_done']} of {entry['runs_in_set']} runs; "
                    "no correlations until every network has a seed",
                ]
            continue
        seeds = ", ".join(map(str, entry.get("ranked_seeds", entry["seeds"])))
        ceiling = (
            f"; seed-to-seed Spearman {entry['seed_to_seed']:+.2f} over the {entry.get('seed_to_seed_n', len(entry['rows']))} "
            "networks with every seed"
            if entry.get("seed_to_seed") is not None
            else ""
        )
        lines += [
            "",
            f"{title} (n = {len(entry['rows'])}, seeds {seeds}{ceiling}): Spearman of each proxy with mean top-1",
            "",
            "| " + " | ".join(PROXIES) + " |",
            "|---" * len(PROXIES) + "|",
            "| " + " | ".join(f"{entry['spearman'][p]:+.2f}" for p in PROXIES) + " |",
        ]
        if entry.get("vs_macs_90"):
            lines += [
                "",
                "Spearman minus that of MACs, 90 % bootstrap interval (2,000 resamples of the networks):",
                "",
                "| " + " | ".join(entry["vs_macs_90"]) + " |",
                "|---" * len(entry["vs_macs_90"]) + "|",
                "| " + " | ".join(f"{lo:+.2f} … {hi:+.2f}" for lo, hi in entry["vs_macs_90"].values()) + " |",
            ]
        if not entry.get("complete", True):
            lines += [
                "",
                f"Still being trained: {entry['runs_done']} of {entry['runs_in_set']} runs (seeds "
                f"{', '.join(map(str, entry['seeds']))}); the ranking above uses only the seeds every network has.",
            ]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [(name, result[name]) for name in RANDOM_SETS if result.get(name, {}).get("spearman")]
    random_panels = 2 if sets else 0  # proxy and MACs vs top-1, once random networks trained
    searched_panel = 1 if result["searched"] else 0
    if not random_panels + searched_panel:
        path.unlink(missing_ok=True)  # no stale figure beside a report that has none
        return
    fig, axes = plt.subplots(1, random_panels + searched_panel, figsize=(4.7 * (random_panels + searched_panel), 4.2), squeeze=False)
    for ax, proxy, label in zip(axes[0][:random_panels], ("default", "macs"), ("default proxy score", "MACs (millions)")):
        scale = 1e-6 if proxy == "macs" else 1.0  # plain millions: a log axis labels a 2x range with overlapping ticks
        for name, entry in sets:
            ax.scatter(
                [r[f"proxy_{proxy}"] * scale for r in entry["rows"]],
                [r["top1"] for r in entry["rows"]],
                s=14,
                label=f"{name} (n={len(entry['rows'])}): Spearman {entry['spearman'][proxy]:+.2f}",
            )
        ax.set_title(f"{SPACE}, {label}")
        ax.set_xlabel(label)
        ax.set_ylabel("CIFAR-10 top-1 (%), mean of seeds")
        ax.legend(fontsize=8)
    if searched_panel:
        ax = axes[0][-1]
        for prefix, style in (("MobileNetV2-", "ks--"), ("cpu-", "o-"), ("dsp-", "^-"), ("edgetpu-", "v-")):
            points = [
                (float(net.rsplit("-", 1)[1]), e["top1_mean"], e["top1_std"] or 0.0)
                for net, e in result["searched"].items()
                if net.startswith(prefix)
            ]
            if points:
                x, y, err = zip(*sorted(points))
                ax.errorbar(
                    x,
                    y,
                    yerr=err,
                    fmt=style,
                    capsize=3,
                    label=prefix.rstrip("-") + (" (reference)" if prefix.startswith("Mobile") else " searched"),
                )
        ax.set_xlabel("latency target = MobileNetV2-α latency (α)")
        ax.set_ylabel("CIFAR-10 top-1 (%)")
        ax.set_title("searched vs MobileNetV2-α (GPU schedule)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUNS", help="runs files of experiments.cifar_train_gpu")
    parser.add_argument("--name", help="write results/cifar_gpu_<NAME>.* instead (e.g. one report per schedule)")
    args = parser.parse_args()
    report(args.runs, args.name)


if __name__ == "__main__":
    main()
