#!/usr/bin/env bash
# bench/peers/install.sh — install the peer programs the benchmark compares glue against.
#
#   ddsperf    (Debian package cyclonedds-tools)  — Cyclone DDS's own throughput/latency tool
#   mosquitto  (Debian package mosquitto)         — MQTT broker, driven by the npm `mqtt` client
#
# Idempotent: installs only what is missing, runs `apt-get update` at most once per invocation,
# and does nothing at all when both programs are already on PATH. Must run as root (or via sudo).
# Usage: bash bench/peers/install.sh
set -euo pipefail

need=()
command -v ddsperf >/dev/null 2>&1 || need+=(cyclonedds-tools)
# mosquitto installs its binary in /usr/sbin, which may not be on a non-root PATH.
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then need+=(mosquitto); fi

if [ ${#need[@]} -eq 0 ]; then
  echo "peers: ddsperf and mosquitto already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "peers: need root to install: ${need[*]}" >&2; exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "peers: apt-get update"
$SUDO apt-get update -qq
echo "peers: apt-get install -y --no-install-recommends ${need[*]}"
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"

# Debian starts a system-wide mosquitto on port 1883 when a service manager is present; the benchmark
# runs its own private broker on a random port, so stop the system one to keep the CPU free.
if [[ " ${need[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null 2>&1 \
   && systemctl is-active --quiet mosquitto 2>/dev/null; then
  echo "peers: stopping the system mosquitto service (the benchmark starts its own)"
  $SUDO systemctl stop mosquitto || true
fi

command -v ddsperf >/dev/null && echo "peers: ddsperf -> $(command -v ddsperf)"
{ command -v mosquitto || echo /usr/sbin/mosquitto; } | sed 's/^/peers: mosquitto -> /'
