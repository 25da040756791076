#!/usr/bin/env bash
# Every GPU measurement in one go, sized for a 15-minute lease of one H100 (about 7 minutes).
#
#   OUT=results benchmarks/gpu_suite.sh
#
# Steps run in order of importance, each under its own time limit, working in $WORK; logs,
# JSON results and the demos' run folders (metrics.json, figures, audio; not the GIFs) are
# packed into $OUT/results.tar.gz at the end. The course arms are shortened where noted (same work per image
# or per step, fewer of them) so that the whole suite fits; the JSON says what ran.
set -u
OUT=${OUT:-gpu-results}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$OUT" "$WORK/logs"
export LEARNAPP_DATA_DIR="$WORK/data" LEARNAPP_CACHE_DIR="$WORK/cache" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
start=$SECONDS

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s, at $((SECONDS - start))s)"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$WORK/logs/$name.log" 2>&1
  echo "$name exit $? after $((SECONDS - t0))s"
  tail -n 4 "$WORK/logs/$name.log"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$WORK/logs/gpu.txt"
step unet_bench 200 python benchmarks/bench_unet_training.py --epochs 1 --out "$WORK/logs/unet_bench.json"
step guidance_bench 240 python benchmarks/bench_guidance.py --course-epochs 2 --course-sampling-steps 250 \
  --out "$WORK/logs/guidance_bench.json"
step unet_full 200 learnapp demo unet-training
step audio_full 150 learnapp demo audio-spectrograms
step noise_full 60 learnapp demo noise-corruption
tar -czf "$OUT/results.tar.gz" --exclude='*.gif' -C "$WORK" logs data/runs
echo "suite done in $((SECONDS - start))s"
