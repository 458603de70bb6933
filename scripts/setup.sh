#!/usr/bin/env bash
# Installs what The Cloud needs on a fresh Debian machine (as root) and syncs the Python env.
#   scripts/setup.sh          runtime: Python 3.11+, uv, the locked dependencies, the Docker Engine
#                             (scripts/docker.sh), the busybox image and the PowerDNS server of
#                             DNS zones (scripts/powerdns.sh start; `scripts/powerdns.sh env`)
#   scripts/setup.sh --test   also what the test suite needs (PostgreSQL server)
#   scripts/setup.sh --bench  also what the benchmarks need (PostgreSQL, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3 python3-venv ca-certificates xfsprogs e2fsprogs)  # xfsprogs: the volume pool
case "${1:-}" in
  --test) packages+=(postgresql) ;;
  --bench) packages+=(postgresql wrk) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2; exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a cluster of its own on install; the project runs its own servers instead.
if [[ " ${missing[*]:-} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
  service postgresql stop >/dev/null 2>&1 || true
fi

uv=$(command -v uv || true)
if [ -z "$uv" ]; then
  if [ ! -x .tmp/uv/bin/uv ]; then
    echo "setup: installing uv into .tmp/uv"
    python3 -m venv .tmp/uv
    .tmp/uv/bin/pip install -q uv
  fi
  uv=.tmp/uv/bin/uv
fi
export UV_PYTHON_DOWNLOADS=never
"$uv" sync --frozen -q
scripts/docker.sh
# The server's PowerDNS (make run, benchmarks); the test suite starts one of its own.
[ "${1:-}" = --test ] || scripts/powerdns.sh start
"$uv" run --frozen -q thecloud images build busybox --no-record
echo "$uv"
