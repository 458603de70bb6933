#!/usr/bin/env bash
# The Docker Engine for compute, and the tools of the offline image builder; idempotent.
#   scripts/docker.sh          install docker.io, busybox-static, mmdebstrap, iptables and iproute2
#                              if missing (as root), let bridged traffic through iptables (security
#                              groups filter inside a VPC's bridge), then start dockerd in the
#                              background unless `docker info` answers
#   scripts/docker.sh status   exit 0 if the engine answers
#   scripts/docker.sh stop     stop the dockerd that runs from /var/run/docker.pid (it stops the
#                              containerd it started, and its containers, on the way out)
# dockerd logs to .tmp/dockerd.log. Nothing starts it by itself on these machines (no systemd).
set -euo pipefail
cd "$(dirname "$0")/.."
log=.tmp/dockerd.log
pidfile=/var/run/docker.pid
wait_seconds=${THECLOUD_DOCKER_WAIT:-30}

install_missing() {
  local missing=() p
  for p in docker.io busybox-static mmdebstrap iptables iproute2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "docker.sh: need root to install: ${missing[*]}" >&2; exit 1
  fi
  echo "docker.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

answers() { docker info >/dev/null 2>&1; }

# Security groups filter traffic between instances on the same VPC bridge: that traffic only
# reaches iptables with br_netfilter loaded and bridge-nf-call-iptables on.
bridge_filtering() {
  [ "$(id -u)" = 0 ] || return 0
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
  if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || true
  else
    echo "docker.sh: warning: br_netfilter is unavailable; security groups cannot filter inside a VPC" >&2
  fi
  echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
}

start_engine() {
  if [ "$(id -u)" != 0 ]; then
    echo "docker.sh: the Docker Engine is not answering and only root can start dockerd" >&2; exit 1
  fi
  # A dockerd that died leaves its pid file behind, and a new one refuses to start over it.
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
    rm -f "$pidfile"
  fi
  mkdir -p .tmp
  echo "docker.sh: starting dockerd (log: $log)"
  setsid dockerd >>"$log" 2>&1 </dev/null &
}

wait_for_engine() {
  local deadline=$((SECONDS + wait_seconds))
  until answers; do
    if [ $SECONDS -ge $deadline ]; then
      echo "docker.sh: the Docker Engine did not answer within ${wait_seconds}s; last lines of $log:" >&2
      tail -n 20 "$log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
}

stop_engine() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "docker.sh: dockerd is not running"; return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + wait_seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "docker.sh: dockerd ($pid) did not stop within ${wait_seconds}s; see $log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "docker.sh: dockerd stopped"
}

case "${1:-start}" in
  start)
    install_missing
    bridge_filtering
    answers || { start_engine; wait_for_engine; }
    echo "docker.sh: the Docker Engine answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    ;;
  status) answers ;;
  stop) stop_engine ;;
  *) echo "usage: $0 [start|status|stop]" >&2; exit 2 ;;
esac
