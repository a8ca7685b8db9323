#!/usr/bin/env bash
# Builds DJL's PyTorch JNI glue (libdjl_torch.so) for a libtorch of another version than the
# glue embedded in glassbox-djl-pytorch (PyTorch 2.7.1, CPU or CUDA 12), such as a pip
# install's torch for CUDA 13. The djl backend then accepts that libtorch directory whatever its
# version: DJL loads glue found beside libtorch before any other.
#
# Usage: tools/build-djl-jni.sh --djl DIR --torch DIR [options]
#   --djl DIR           DJL's source at tag v0.36.0 (the engine's Java side must match the glue):
#                       engines/pytorch and api/src/main/native are used
#   --torch DIR         libtorch's root, holding include/ and lib/: the unpacked libtorch archive,
#                       or a pip install's torch/ (python3 -c 'import torch; print(torch.__path__[0])')
#   --out FILE          default: DIR/lib/libdjl_torch.so, where the djl backend looks for it
#   --classpath CP      DJL's api 0.36.0, slf4j-api and gson jars, to generate the JNI header;
#                       default: those in ~/.m2 (./mvnw install puts them there)
#   --java-home DIR     a JDK (javac, include/jni.h); default: JAVA_HOME, else the javac on PATH
#   --cuda-include DIR  where cuda_runtime_api.h is, for CUDA builds; default: CUDA_HOME/include,
#                       /usr/local/cuda/include, or NVIDIA's pip packages beside torch
#   --jobs N            parallel compilations (default: the number of cores)
# Needs g++ and nm. Writes the glue whole or not at all.
set -euo pipefail

die() { echo "build-djl-jni.sh: error: $*" >&2; exit 1; }
usage() {
  local text; text="$(sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//')"
  if [ "${1:-2}" = 0 ]; then echo "$text"; else echo "$text" >&2; fi
  exit "${1:-2}"
}

djl="" torch="" out="" classpath="" java_home="${JAVA_HOME:-}" cuda_include="" jobs="$(nproc 2>/dev/null || echo 2)"
while [ $# -gt 0 ]; do
  case "$1" in
    --djl) djl="${2:?--djl needs a directory}"; shift 2 ;;
    --torch) torch="${2:?--torch needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --classpath) classpath="${2:?--classpath needs a class path}"; shift 2 ;;
    --java-home) java_home="${2:?--java-home needs a directory}"; shift 2 ;;
    --cuda-include) cuda_include="${2:?--cuda-include needs a directory}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "build-djl-jni.sh: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$djl" ] && [ -n "$torch" ] || usage

native="$djl/engines/pytorch/pytorch-native/src/main/native"
library="$djl/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
[ -d "$native" ] && [ -f "$library" ] && [ -f "$djl/api/src/main/native/djl/utils.h" ] \
  || die "$djl is not DJL's source (no $native, $library or api/src/main/native/djl/utils.h)"
lib="$torch/lib"
[ -f "$lib/libtorch.so" ] && [ -f "$lib/libc10.so" ] || die "no libtorch.so and libc10.so in $lib"
[ -f "$torch/include/torch/script.h" ] || die "no C++ headers in $torch/include (a pip install and libtorch's archive have them)"
out="${out:-$lib/libdjl_torch.so}"

if [ -z "$java_home" ]; then
  javac_path="$(command -v javac)" || die "no JDK: set JAVA_HOME or --java-home"
  java_home="$(dirname "$(dirname "$(readlink -f "$javac_path")")")"
fi
[ -x "$java_home/bin/javac" ] && [ -f "$java_home/include/jni.h" ] || die "$java_home has no bin/javac and include/jni.h"
if [ -z "$classpath" ]; then
  m2="${HOME}/.m2/repository"
  jars=("$m2/ai/djl/api/0.36.0/api-0.36.0.jar" "$(ls "$m2"/org/slf4j/slf4j-api/*/slf4j-api-*.jar 2>/dev/null | tail -1)"
        "$(ls "$m2"/com/google/code/gson/gson/*/gson-*.jar 2>/dev/null | tail -1)")
  for jar in "${jars[@]}"; do
    [ -f "$jar" ] || die "DJL's api 0.36.0, slf4j-api or gson is not in $m2: run ./mvnw install, or give --classpath"
  done
  classpath="$(IFS=:; echo "${jars[*]}")"
fi

cuda=0
defines=()
includes=(-I"$torch/include" -I"$torch/include/torch/csrc/api/include" -I"$djl/api/src/main/native"
          -I"$java_home/include" -I"$java_home/include/linux")
libs=(-ltorch -ltorch_cpu -lc10)
if [ -f "$lib/libtorch_cuda.so" ]; then
  cuda=1
  defines+=(-DUSE_CUDA)
  libs+=(-ltorch_cuda -lc10_cuda)
  if [ -z "$cuda_include" ]; then
    for candidate in "${CUDA_HOME:-/nonexistent}/include" /usr/local/cuda/include "$torch"/../nvidia/*/include \
        "$torch"/../nvidia/cuda_runtime/include; do
      if [ -f "$candidate/cuda_runtime_api.h" ]; then cuda_include="$candidate"; break; fi
    done
  fi
  [ -n "$cuda_include" ] && [ -f "$cuda_include/cuda_runtime_api.h" ] \
    || die "libtorch is a CUDA build, but no cuda_runtime_api.h was found: give --cuda-include"
  includes+=(-I"$cuda_include")
fi
command -v nm >/dev/null || die "nm (binutils) is needed to read libtorch's C++ ABI"
# The C++ standard libtorch's CMake package asks of its users, at least C++17.
std=17
for wanted in $(grep -rhoE 'cxx_std_[0-9]+' "$torch/share/cmake" 2>/dev/null | sed 's/cxx_std_//'); do
  if [ "$wanted" -gt "$std" ]; then std="$wanted"; fi
done
# libtorch is built with one C++ string ABI; the glue must use the same one.
# (grep -c reads to the end: grep -q would stop early and fail the pipeline under pipefail)
abi=0
if [ "$(nm -D --defined-only "$lib/libc10.so" | grep -c '__cxx11')" -gt 0 ]; then abi=1; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "build-djl-jni.sh: JNI header from $library" >&2
"$java_home/bin/javac" -cp "$classpath" -sourcepath "$djl/engines/pytorch/pytorch-engine/src/main/java" \
  -h "$work/include" -d "$work/classes" "$library" || die "javac could not generate the JNI header"

sources=("$native"/*.cc)
echo "build-djl-jni.sh: compiling ${#sources[@]} files against $torch (CUDA: $cuda, C++$std, C++11 ABI: $abi, $jobs at a time)" >&2
flags=(-O2 -fPIC -std=c++"$std" -w -D_GLIBCXX_USE_CXX11_ABI="$abi" "${defines[@]}" -I"$work/include" "${includes[@]}")
running=0
for src in "${sources[@]}"; do
  name="$(basename "$src" .cc)"
  ( g++ "${flags[@]}" -c "$src" -o "$work/$name.o" >"$work/$name.log" 2>&1 || echo "$name" >>"$work/failed" ) &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
if [ -s "$work/failed" ]; then
  while read -r name; do
    echo "--- $name.cc:" >&2
    grep -m 20 -A 3 'error' "$work/$name.log" >&2 || tail -20 "$work/$name.log" >&2
  done <"$work/failed"
  die "$(wc -l <"$work/failed") of ${#sources[@]} files did not compile against $torch"
fi

g++ -shared -o "$work/libdjl_torch.so" "$work"/*.o -L"$lib" -Wl,-rpath,'$ORIGIN' "${libs[@]}" \
  || die "linking the glue failed"
mkdir -p "$(dirname "$out")"
cp "$work/libdjl_torch.so" "$out.tmp$$" && mv -f "$out.tmp$$" "$out"
echo "build-djl-jni.sh: wrote $out ($(($(stat -c %s "$out") / 1024)) KB); glassbox list shows whether djl loads it" >&2
