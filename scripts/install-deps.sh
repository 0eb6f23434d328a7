#!/usr/bin/env bash
# Install the Debian 12 packages zoo needs, only those missing. Needs root (or sudo).
# Does not build anything; scripts/setup.sh calls it first.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libopenblas-dev libfftw3-dev libhdf5-dev hdf5-tools
  libopenmpi-dev openmpi-bin libfyaml-dev
  python3 python3-numpy python3-scipy python3-h5py python3-pandas python3-matplotlib
  python3-pytest python3-torch
)
[ "${ZOO_WITH_SLURM:-1}" = 1 ] && pkgs+=(slurm-wlm slurm-client munge)
# The fuzz harnesses (docs/fuzzing.md) need clang and its libFuzzer runtime; CI's fuzz
# stage asks for them, a user build does not.
[ "${ZOO_WITH_FUZZ:-0}" = 1 ] && pkgs+=(clang-14 libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
