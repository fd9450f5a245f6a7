#!/usr/bin/env bash
# Build the canary's base image offline, or load it from the cache.
#
#   docker/build-base-image.sh            print the image tag on the last line of stdout
#   docker/build-base-image.sh --rebuild  ignore the cache and build again
#
# No container registry is reachable from our machines, so nothing can be pulled. The image is
# Debian bookworm (debootstrap --variant=minbase, from the mirror apt already uses), with
# PostgreSQL and ca-certificates installed in a chroot and this machine's `node` binary copied
# in, then `docker import`ed. It is saved to $DEV_NEXUS_IMAGE_CACHE (docker save) and loaded
# from there on the next run (docker load), so only the first run pays for the build.
# The tag names the node version: a different node on the host builds a new image.
# Progress goes to stderr; stdout carries only the tag.
set -euo pipefail

CACHE_DIR=${DEV_NEXUS_IMAGE_CACHE:-/var/cache/dev-nexus}
SUITE=bookworm
NODE_BIN=$(readlink -f "$(command -v node)")
NODE_VERSION=$("$NODE_BIN" --version)
TAG=${DEV_NEXUS_BASE_IMAGE:-dev-nexus-canary-base:$SUITE-pg-node${NODE_VERSION#v}}
CACHE_FILE="$CACHE_DIR/$(echo "$TAG" | tr ':/' '__').tar"
BUILD_TIMEOUT=${DEV_NEXUS_BASE_IMAGE_TIMEOUT:-900}

say() { echo "[base-image] $*" >&2; }
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

rebuild=false
case "${1:-}" in
  --rebuild) rebuild=true ;;
  "") ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

if ! timeout 10 docker info >/dev/null 2>&1; then
  say "no Docker engine answers; run docker/ensure-engine.sh first"
  exit 1
fi

if ! $rebuild && docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG is present in the engine"
  echo "$TAG"
  exit 0
fi
if ! $rebuild && [ -s "$CACHE_FILE" ]; then
  say "loading $TAG from $CACHE_FILE ($(du -h "$CACHE_FILE" | cut -f1)) ..."
  if timeout 300 docker load -i "$CACHE_FILE" >&2 && docker image inspect "$TAG" >/dev/null 2>&1; then
    say "loaded $TAG in $(elapsed)"
    echo "$TAG"
    exit 0
  fi
  say "the cache file did not give $TAG; building it again"
fi

if [ "$(id -u)" != 0 ]; then say "building the base image needs root (debootstrap, chroot)"; exit 1; fi

# The Debian mirror apt already uses (deb822 .sources files or one-line sources.list).
mirror() {
  local uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
      /^$/ { if (found && uris != "") { print uris; exit } found = 0; uris = "" }
      END { if (found && uris != "") print uris }' "$f" | head -1)
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == suite) { print $i; exit } } }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  echo http://deb.debian.org/debian
}
MIRROR=$(mirror)

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap with apt-get ..."
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends debootstrap >&2 ||
    { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends debootstrap >&2; }
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/dev-nexus-base-XXXXXX")
# mktemp makes the directory 0700; it becomes the image's "/", which every user must enter.
chmod 0755 "$ROOT"
LOGFILE="$ROOT.log"
cleanup() {
  # Unmount before deleting: rm -rf through a live /proc mount would be a disaster.
  if mountpoint -q "$ROOT/proc"; then umount -l "$ROOT/proc" || true; fi
  if ! mountpoint -q "$ROOT/proc"; then rm -rf "$ROOT"; fi
}
trap cleanup EXIT

say "building $TAG: debootstrap --variant=minbase $SUITE from $MIRROR ..."
timeout "$BUILD_TIMEOUT" debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$LOGFILE" 2>&1 ||
  { tail -n 20 "$LOGFILE" >&2; say "debootstrap failed (log: $LOGFILE)"; exit 1; }
say "debootstrap done ($(elapsed)); installing postgresql and ca-certificates in the chroot ..."

# No service starts inside the chroot, and no cluster is created at install time: the
# PostgreSQL container runs initdb itself, with its own password.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/etc/postgresql-common"
echo "create_main_cluster = false" >"$ROOT/etc/postgresql-common/createcluster.conf"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C timeout "$BUILD_TIMEOUT" apt-get install -y -qq --no-install-recommends postgresql ca-certificates >>"$LOGFILE" 2>&1 ||
  { tail -n 20 "$LOGFILE" >&2; say "installing postgresql in the chroot failed (log: $LOGFILE)"; exit 1; }
chroot "$ROOT" apt-get clean
rm -f "$LOGFILE"
umount "$ROOT/proc"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT/usr/sbin/policy-rc.d"
: >"$ROOT/etc/resolv.conf"

install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
PG_BIN=$(ls -d "$ROOT"/usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_BIN=${PG_BIN#"$ROOT"}
if ! chroot "$ROOT" /usr/local/bin/node --version >/dev/null; then say "the copied node does not run in the image"; exit 1; fi
say "node $NODE_VERSION copied in; PostgreSQL at $PG_BIN; importing ($(du -sh "$ROOT" | cut -f1)) ..."

tar -C "$ROOT" -c . | timeout 300 docker import \
  --change "ENV PATH=$PG_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change 'CMD ["/bin/bash"]' \
  - "$TAG" >/dev/null
say "imported $TAG in $(elapsed); saving to $CACHE_FILE ..."
mkdir -p "$CACHE_DIR"
timeout 300 docker save -o "$CACHE_FILE.tmp" "$TAG" && mv "$CACHE_FILE.tmp" "$CACHE_FILE"
say "built and cached $TAG in $(elapsed)"
echo "$TAG"
