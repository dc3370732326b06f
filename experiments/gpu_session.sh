#!/usr/bin/env bash
# What this project measures on an NVIDIA GPU, as steps that each fit one 10-minute call:
#   table     the `gpu` latency table for the mobiledet space and the MobileNetV1/V2 references
#             (torch backend: CUDA graphs, batch 1, fp32/TF32, BN folded), then its fidelity against whole
#             networks timed the same way (experiments/latency_fidelity.py)          ~4 min on one H100
#   searched  CIFAR-10 training of the CIFAR experiment's networks, 6 epochs x 3 seeds  ~8 min
#   random    CIFAR-10 training of 40 random mobiledet_cifar networks, then of the 24 random ones in the
#             latency band of experiments/proxy_generalisation.py, 3 epochs each         ~8 min
#   band      only the band networks (add a seed: TRAIN_ARGS="--random-seeds 1")              ~3 min
#   band_fresh  the held-out band sample of experiments/proxy_vs_flops_heldout_band.py (TRAIN_ARGS="--random-seeds 0 1")  ~6 min
#   smoke     every step on a tiny space and 2 + 2 networks on 2,560 images            ~1.5 min
#
#   OUT=DIR NAS_CIFAR10_TAR=cifar10-jpeg.tar.gz bash experiments/gpu_session.sh STEP [SECONDS]
#
# Each step is time-boxed to SECONDS (default 540) and keeps what finished: profiling is resumable and
# training queues seed-major. Results: $OUT/session.tar.gz (table, fidelity, runs, logs) and $OUT/steps.txt.
set -u
MODE=${1:-smoke}
END=$(( $(date +%s) + ${2:-540} ))
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NAS_CACHE=$PWD/experiments/cache/npz PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
export NAS_CIFAR10_TAR=${NAS_CIFAR10_TAR:-$PWD/.carry/cifar10-jpeg.tar.gz}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$OUT/steps.txt" 2>&1
python -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))" >> "$OUT/steps.txt" 2>&1

# CIFAR-10 decoded once (CPU) while the GPU profiles; the training workers read the cached arrays
python -c "import sys; sys.path.insert(0, 'experiments'); from cifar10_data import cifar10; d = cifar10(); print('cifar10', d.train_images.shape, d.val_images.shape)" \
  >> "$OUT/steps.txt" 2>/dev/null &
DECODE=$!

step() {  # step NAME SECONDS COMMAND...: run, time-boxed, logged; a failure is logged and the session goes on
  local name=$1 limit=$2; shift 2
  local start=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "$name: exit $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/steps.txt"
}

case $MODE in
smoke)
  step profile 60 python -m nas.cli.profile --device gpu --space nas_bench_macro --table /tmp/gpu-smoke.yaml
  step validate 60 python -m nas.cli.profile validate --device gpu --table /tmp/gpu-smoke.yaml --space nas_bench_macro --samples 3 --rounds 3 --json
  wait $DECODE
  step train 120 python -m experiments.cifar_train_gpu --smoke --workers 2 --out "$OUT/train"
  cp /tmp/gpu-smoke.yaml "$OUT/gpu.yaml" 2>/dev/null ;;
table)
  step profile 200 python -m nas.cli.profile --device gpu --space mobiledet
  step references 60 python -m nas.cli.profile --device gpu --space mobilenet_v2 --space mobilenet_v1 --width 0.35 --width 0.5 --width 0.75 --width 1.0
  cp latency_tables/gpu.yaml "$OUT/" 2>/dev/null
  step fidelity $(( END - $(date +%s) - 10 )) python -m experiments.latency_fidelity --device gpu --space mobiledet --samples 20 --calibrate 4 --rounds 10
  cp latency_tables/gpu.yaml "$OUT/" 2>/dev/null ;;
searched|random|band|band_fresh)
  SETS=$MODE; [ "$MODE" = random ] && SETS="random band"
  wait $DECODE
  LEFT=$(( END - $(date +%s) - 20 ))
  step train $(( LEFT + 15 )) python -m experiments.cifar_train_gpu --sets $SETS --deadline "$LEFT" --workers ${WORKERS:-10} --out "$OUT/train" ${TRAIN_ARGS:-} ;;
*)
  echo "unknown step $MODE (smoke, table, searched, random, band, band_fresh)" >&2; exit 2 ;;
esac
for log in "$OUT"/*.log; do echo "== $log"; tail -n 6 "$log" | cut -c1-300; done
# one archive (the tool returns at most 8 files); steps.txt stays beside it
cp experiments/results/latency_fidelity_gpu.* "$OUT/" 2>/dev/null
(cd "$OUT" && tar czf /tmp/session.tar.gz --exclude=steps.txt . && find . -mindepth 1 ! -name steps.txt -delete && mv /tmp/session.tar.gz .)
cat "$OUT/steps.txt"
