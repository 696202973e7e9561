#!/usr/bin/env bash
# One-time set-up: Debian's ffmpeg, then a virtual environment in .venv with the pinned packages.
# bash setup.sh          CPU (tensorflow-cpu)
# bash setup.sh --gpu    NVIDIA GPU: the same packages with TensorFlow's CUDA build instead
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  "") requirements=requirements-dev.txt ;;
  --gpu)
    gpu=$(mktemp -d)
    sed 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' requirements.txt >"$gpu/requirements.txt"
    cp requirements-dev.txt "$gpu/"
    requirements="$gpu/requirements-dev.txt" ;;
  *) echo "usage: bash setup.sh [--gpu]" >&2; exit 2 ;;
esac
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq ffmpeg
fi
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = --gpu ]; then .venv/bin/python -m pip uninstall -q -y tensorflow-cpu 2>/dev/null || true; fi
.venv/bin/python -m pip install -q -r "$requirements"
.venv/bin/python -m pip install -q --no-deps -e .
echo "Set up. Now: source .venv/bin/activate"
