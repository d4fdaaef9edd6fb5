#!/usr/bin/env bash
# Installs the real servers the tests start (Debian packages zookeeper, etcd-server,
# redis-server) when they are missing, so `pnpm test` works on a fresh machine. Needs root or
# passwordless sudo to install. Without them: under CI=true this fails (a missing backend is a
# failure there); elsewhere it says what to install and the tests that need a server skip,
# visibly, by name.
set -euo pipefail

missing=()
{ [ -e /usr/share/java/zookeeper.jar ] && command -v java >/dev/null; } || missing+=(zookeeper)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v redis-server >/dev/null || missing+=(redis-server)
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "install-servers: missing Debian packages: ${missing[*]} (no root or passwordless sudo to install them)" >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
  fi
fi
echo "install-servers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null
# The packages' own services are not needed (tests start private servers on free ports).
for service in zookeeper etcd redis-server; do
  "${sudo[@]}" systemctl disable --now "$service" >/dev/null 2>&1 </dev/null || true
done
