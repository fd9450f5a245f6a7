#!/usr/bin/env bash
# Make a Docker engine answer on this machine, or say why it cannot.
#
#   docker/ensure-engine.sh           check; install docker.io when dockerd is missing; start dockerd
#   docker/ensure-engine.sh --check   only check whether an engine answers (exit 0 yes, 1 no)
#   docker/ensure-engine.sh --stop    stop the dockerd this script started (by its pidfile)
#
# Our machines run no engine by default and have no systemd: dockerd is started here in the
# background, its log in $DEV_NEXUS_DOCKERD_LOG, its PID in $DEV_NEXUS_DOCKERD_PIDFILE, and it
# keeps running for the next run (stop it with --stop). Every wait is bounded. The last line
# printed says what happened, prefixed "[engine] ok:" or "[engine] unavailable:".
set -uo pipefail

STATE_DIR=${DEV_NEXUS_DOCKER_STATE_DIR:-/var/cache/dev-nexus}
PIDFILE=${DEV_NEXUS_DOCKERD_PIDFILE:-$STATE_DIR/dockerd.pid}
LOG=${DEV_NEXUS_DOCKERD_LOG:-$STATE_DIR/dockerd.log}
START_TIMEOUT=${DEV_NEXUS_DOCKERD_START_TIMEOUT:-60}
INSTALL_TIMEOUT=${DEV_NEXUS_DOCKER_INSTALL_TIMEOUT:-300}

say() { echo "[engine] $*"; }
unavailable() { say "unavailable: $*"; exit 1; }

answers() { timeout 10 docker info >/dev/null 2>&1; }

started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

case "${1:-}" in
  --check)
    if command -v docker >/dev/null 2>&1 && answers; then say "ok: a Docker engine answers"; exit 0; fi
    unavailable "no Docker engine answers (docker info)"
    ;;
  --stop)
    if [ -f "$PIDFILE" ]; then
      pid=$(cat "$PIDFILE")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then say "dockerd $pid did not stop in 30 s; sending KILL"; kill -KILL "$pid"; fi
        say "ok: stopped dockerd $pid"
      else
        say "ok: dockerd $pid from $PIDFILE is not running"
      fi
      rm -f "$PIDFILE"
    else
      say "ok: no pidfile at $PIDFILE, nothing started by this script"
    fi
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--check|--stop]" >&2; exit 2 ;;
esac

if command -v docker >/dev/null 2>&1 && answers; then
  say "ok: a Docker engine already answers"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  unavailable "no Docker engine answers, and starting one needs root (we are uid $(id -u))"
fi
mkdir -p "$STATE_DIR"

if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then unavailable "dockerd is missing and there is no apt-get to install docker.io"; fi
  say "dockerd is missing: installing docker.io with apt-get (apt-get update first) ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout "$INSTALL_TIMEOUT" apt-get update -qq >"$STATE_DIR/apt-docker.log" 2>&1; then
    unavailable "apt-get update failed (log: $STATE_DIR/apt-docker.log)"
  fi
  if ! timeout "$INSTALL_TIMEOUT" apt-get install -y -qq --no-install-recommends docker.io >>"$STATE_DIR/apt-docker.log" 2>&1; then
    unavailable "apt-get install docker.io failed (log: $STATE_DIR/apt-docker.log)"
  fi
  say "installed docker.io ($(dockerd --version 2>/dev/null | head -1)) in $(elapsed)"
fi

# A dockerd started earlier by us may still be starting, or may have died: reuse or replace.
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  pid=$(cat "$PIDFILE")
  say "dockerd $pid (from $PIDFILE) is running but does not answer yet; waiting"
else
  # A stale socket or pidfile left by a dead dockerd makes the next one refuse to start.
  if [ -S /var/run/docker.sock ] && ! pidof dockerd >/dev/null 2>&1; then rm -f /var/run/docker.sock; fi
  rm -f /var/run/docker.pid
  say "starting dockerd in the background (log: $LOG)"
  # setsid: its own session, so a Ctrl-C in the terminal that ran make does not reach it.
  setsid dockerd >"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
fi

for _ in $(seq 1 "$START_TIMEOUT"); do
  if answers; then
    say "ok: dockerd $pid answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null), storage $(docker info --format '{{.Driver}}' 2>/dev/null)) after $(elapsed); pidfile $PIDFILE"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 5 "$LOG" 2>/dev/null | sed 's/^/[engine]   dockerd: /'
    rm -f "$PIDFILE"
    unavailable "dockerd exited during start (log: $LOG)"
  fi
  sleep 1
done
unavailable "dockerd $pid did not answer within ${START_TIMEOUT} s (log: $LOG); stop it with $0 --stop"
