#!/usr/bin/env bash
# One-time set-up: Debian's ffmpeg, then a virtual environment with the pinned packages.
# bash setup.sh                  .venv: the job, the trainer (tensorflow-cpu) and the test tools
# bash setup.sh --gpu            .venv, with TensorFlow's CUDA build instead of tensorflow-cpu
# bash setup.sh --tensorflow-io  .venv-tensorflow-io: the optional tensorflow-io decoder, which
#                                loads only on TensorFlow 2.17 (requirements-tensorflow-io.txt)
set -euo pipefail
cd "$(dirname "$0")"
venv=.venv
requirements=(-r requirements-dev.txt)
case "${1:-}" in
  "") ;;
  --gpu)
    gpu=$(mktemp -d)
    sed 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' requirements-train.txt >"$gpu/requirements-train.txt"
    requirements=(-r requirements.txt -r "$gpu/requirements-train.txt" pytest hypothesis ruff) ;;
  --tensorflow-io)
    venv=.venv-tensorflow-io
    requirements=(-r requirements-tensorflow-io.txt) ;;
  *) echo "usage: bash setup.sh [--gpu | --tensorflow-io]" >&2; exit 2 ;;
esac
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq ffmpeg
fi
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
if [ "${1:-}" = --gpu ]; then "$venv/bin/python" -m pip uninstall -q -y tensorflow-cpu 2>/dev/null || true; fi
"$venv/bin/python" -m pip install -q "${requirements[@]}"
# The project itself, editable; its dependencies are the pinned ones just installed.
"$venv/bin/python" -m pip install -q --no-deps -e .
echo "Set up. Now: source $venv/bin/activate"
