#!/usr/bin/env bash
# Regenerates the PTX the bundle ships from src/main/cuda/kernels.cu (needs nvcc; the build
# itself does not: the PTX is committed, and KernelSourceTest checks it matches the source).
#   compute_75: the oldest architecture CUDA 13 targets; the driver JIT-compiles the PTX for
#               the device it runs on (sm_80, sm_90, ...).
#   --fmad=false: no fused multiply-adds, so products and sums round as the Java backend's do.
set -euo pipefail
cd "$(dirname "$0")"
out=src/main/resources/dev/glassbox/backend/cudnn/kernels.ptx
mkdir -p "$(dirname "$out")"
nvcc -ptx -arch=compute_75 --fmad=false -O3 src/main/cuda/kernels.cu -o "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
