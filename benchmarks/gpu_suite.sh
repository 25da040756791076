#!/usr/bin/env bash
# Every GPU measurement in one go, sized for a 15-minute lease of one H100.
#
#   OUT=results DEADLINE=540 benchmarks/gpu_suite.sh
#
# Steps run in order of importance, each under its own time limit and all within DEADLINE
# seconds, working in $WORK. After every step, the logs, JSON results and the demos' run
# folders (metrics.json, figures, audio; not GIFs or model weights) are packed into
# $OUT/results.tar.gz, so a suite cut short still returns what it measured. The course arms
# are shortened where noted (the same work per image or per step, fewer of them); the JSON
# of each benchmark says what ran.
set -u
OUT=${OUT:-gpu-results}
WORK=${WORK:-$(mktemp -d)}
DEADLINE=${DEADLINE:-540}
mkdir -p "$OUT" "$WORK/logs" "$WORK/data/runs"
export LEARNAPP_DATA_DIR="$WORK/data" LEARNAPP_CACHE_DIR="$WORK/cache" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
start=$SECONDS

pack() {
  tar -czf "$OUT/results.tar.gz" --exclude='*.gif' --exclude='*.safetensors' --exclude='*.bin' \
    -C "$WORK" logs data/runs
}

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2 left=$((DEADLINE - (SECONDS - start) - 10))
  shift 2
  if ((left < 20)); then echo "== $name skipped: no time left"; return; fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit}s, at $((SECONDS - start))s)"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$WORK/logs/$name.log" 2>&1
  echo "$name exit $? after $((SECONDS - t0))s"
  tail -n 3 "$WORK/logs/$name.log"
  pack
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$WORK/logs/gpu.txt"
step unet_bench 150 python benchmarks/bench_unet_training.py --epochs 1 --out "$WORK/logs/unet_bench.json"
step guidance_bench 200 python benchmarks/bench_guidance.py --course-epochs 2 --course-sampling-steps 250 \
  --out "$WORK/logs/guidance_bench.json"
step unet_full 120 learnapp demo unet-training
step audio_full 90 learnapp demo audio-spectrograms
step noise_full 30 learnapp demo noise-corruption
step latent_full 300 learnapp demo latent-diffusion
echo "suite done in $((SECONDS - start))s"
