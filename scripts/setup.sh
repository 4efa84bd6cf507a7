#!/usr/bin/env bash
# Installs what the tests and `npm start` need outside node_modules, idempotently:
# Debian packages (when run as root and missing) and code-server 4.100.3 (VS Code 1.100.3)
# into a cache folder shared by runs. Safe to run again: a second run takes a second.
set -euo pipefail

CACHE="${PEERCHAT_CACHE:-$HOME/.cache/peerchat}"
CS_VERSION="4.100.3"
CS_DIR="$CACHE/code-server-$CS_VERSION"
mkdir -p "$CACHE"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v g++ >/dev/null 2>&1 || need_apt+=(build-essential)
[ -e /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
# The LAN discovery test (interop) makes network namespaces with ip netns; it skips without root.
if [ "$(id -u)" = 0 ]; then command -v ip >/dev/null 2>&1 || need_apt+=(iproute2); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${need_apt[*]} (run: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

# code-server's postinstall (native modules, the node_modules.asar link) must have run too.
cs_ready() { [ -x "$1/node_modules/.bin/code-server" ] && [ -e "$1/node_modules/code-server/lib/vscode/node_modules.asar" ]; }

if cs_ready "$CS_DIR"; then
  echo "setup: code-server $CS_VERSION ready in $CS_DIR"
  exit 0
fi

echo "setup: installing code-server $CS_VERSION into $CS_DIR (about a minute)"
# @vscode/ripgrep's postinstall downloads rg from GitHub unless it finds this cached archive;
# Debian's rg under the expected name satisfies it.
tmp="${TMPDIR:-/tmp}"
rgcache="$tmp/vscode-ripgrep-cache-1.15.11"
mkdir -p "$rgcache"
rgtar="$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$rgtar" ]; then
  stage=$(mktemp -d)
  cp "$(command -v rg)" "$stage/rg"
  tar -czf "$rgtar" -C "$stage" rg
  rm -rf "$stage"
fi

work="$CS_DIR.partial"
rm -rf "$work"
mkdir -p "$work"
(
  cd "$work"
  echo '{"name":"peerchat-code-server","private":true}' > package.json
  # npm 11's allowScripts policy warns about (and, with strict-allow-scripts or a later default,
  # skips) dependency install scripts; code-server cannot work without them.
  npm_config_yes=true npm_config_unsafe_perm=true npm_config_dangerously_allow_all_scripts=true \
    npm install --no-audit --no-fund --loglevel=error \
    "code-server@$CS_VERSION" > install.log 2>&1 || { tail -40 install.log >&2; exit 1; }
)
cs_ready "$work" || { echo "setup: code-server did not install (or its postinstall did not run); see $work/install.log" >&2; exit 1; }
rm -rf "$CS_DIR"
mv "$work" "$CS_DIR"
echo "setup: code-server $CS_VERSION installed in $CS_DIR"
