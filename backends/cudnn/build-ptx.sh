#!/usr/bin/env bash
# Regenerates the PTX the bundle ships from src/main/cuda/kernels.cu (needs nvcc; the build
# itself does not: the PTX is committed, and KernelSourceTest checks it matches the source).
#   compute_75: the oldest architecture CUDA 13 targets; the driver JIT-compiles the PTX for
#               the device it runs on (sm_80, sm_90, ...).
#   --fmad=false: no fused multiply-adds, so products and sums round as the Java backend's do.
#   .version 7.0: nvcc 13 writes PTX ISA 9.0, which only drivers of CUDA 13 (R580) load; the
#               kernels use nothing newer than ISA 7.0 (ptxas checks that), which drivers from
#               CUDA 11.0 on accept. CudaEnvironment requires such a driver.
# Usage: build-ptx.sh [OUTPUT]   (default: the bundle resource)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-src/main/resources/dev/glassbox/backend/cudnn/kernels.ptx}
mkdir -p "$(dirname "$out")"
nvcc -ptx -arch=compute_75 --fmad=false -O3 src/main/cuda/kernels.cu -o "$out.tmp"
sed -i 's/^\.version [0-9.]*$/.version 7.0/' "$out.tmp"
ptxas -arch=sm_75 "$out.tmp" -o /dev/null
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
