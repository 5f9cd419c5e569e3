#!/usr/bin/env bash
# One entry point for a machine without ROS: creates or reuses .venv/ in this checkout,
# installs everything (apt packages, ROS 2 wheels, tf2_msgs built locally, torch, the
# package itself), then runs what was asked.
#
#   ./dev.sh demo [ARGS]   the main job (depth-perception demo ARGS)
#   ./dev.sh test [ARGS]   the test suite (pytest ARGS)
#   ./dev.sh setup         only set up the environment
#   ./dev.sh run CMD ...   run CMD inside the environment
#
# Environment: PYTHON (interpreter for the venv, default python3),
# DP_TORCH_SPEC (default torch==2.13.0; on a GPU machine e.g. "torch==2.13.0" from the
# CUDA index), DP_SKIP_APT=1 to never call apt-get.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${DP_TORCH_SPEC:-torch==2.13.0}"

log() { printf '[dev.sh] %s\n' "$*" >&2; }

ensure_apt_packages() {
  # libusb: open3d imports it; cmake/ninja/g++: the tf2_msgs build.
  local wanted=(libusb-1.0-0 cmake ninja-build g++)
  case "$("$PYTHON" -c 'import sys; print(sys.prefix)')" in
    /usr) wanted+=(python3-dev python3-venv) ;;
  esac
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${DP_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null; then
    log "missing system packages: ${missing[*]} (install them, or unset DP_SKIP_APT)"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

check_python() {
  "$PYTHON" - <<'EOF' || { log "Python 3.10-3.12 is required (set PYTHON=...)"; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
EOF
}

build_tf2_msgs() {
  "$VENV/bin/python" -c 'from tf2_msgs.msg import TFMessage' 2>/dev/null && return 0
  log "building tf2_msgs from the rosidl wheels (no PyPI wheel exists)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$ROOT/tools/requirements-rosidl.txt" 2> >(grep -v '^WARNING: Location' >&2)
  local build="$VENV/build/tf2_msgs"
  rm -rf "$build"
  mkdir -p "$build"
  AMENT_PREFIX_PATH="$VENV" cmake -S "$ROOT/tools/tf2_msgs" -B "$build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF >"$build.log" 2>&1 \
    && cmake --build "$build" -j2 >>"$build.log" 2>&1 \
    && cmake --install "$build" >>"$build.log" 2>&1 \
    || { log "tf2_msgs build failed; see $build.log"; tail -20 "$build.log" >&2; exit 1; }
  "$VENV/bin/python" -c 'from tf2_msgs.msg import TFMessage'
}

setup() {
  local stamp="$VENV/.dp-setup-stamp"
  local want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/tools/requirements-rosidl.txt" "$ROOT/setup.py" \
          "$ROOT/dev.sh" | sha256sum | cut -d' ' -f1) $TORCH_SPEC"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  check_python
  ensure_apt_packages
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  # colcon would otherwise find the package.xml files the ROS wheels ship inside the venv.
  touch "$VENV/COLCON_IGNORE"
  pip_install() {
    # Hide pip's notes about unreachable extra indexes; keep every real error.
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" \
      2> >(grep -v '^WARNING: Location' >&2)
  }
  log "installing $TORCH_SPEC"
  pip_install "$TORCH_SPEC"
  log "installing requirements (ROS 2 wheels, open3d, rosbags, evo, lightning, ...)"
  pip_install -r "$ROOT/requirements.txt"
  build_tf2_msgs
  log "installing depth_perception (editable)"
  pip_install --no-deps --no-build-isolation -e "$ROOT"
  echo "$want" >"$stamp"
  log "environment ready: $VENV"
}

activate() {
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  # Fast DDS drops MB-sized messages between processes unless every process uses this.
  export FASTDDS_BUILTIN_TRANSPORTS="${FASTDDS_BUILTIN_TRANSPORTS:-LARGE_DATA}"
  export MPLBACKEND="${MPLBACKEND:-Agg}"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo) setup; activate; exec depth-perception demo "$@" ;;
  test) setup; activate; cd "$ROOT"; exec python -m pytest "$@" ;;
  run) setup; activate; exec "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
