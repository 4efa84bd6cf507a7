#!/usr/bin/env bash
# Builds and packages PeerChat, installs the .vsix into a local VS Code (code-server 4.100.3 =
# VS Code 1.100.3) and serves it on http://127.0.0.1:${PEERCHAT_UI_PORT:-8080} until Ctrl+C.
# Open that address in a browser, then click the PeerChat icon in the activity bar.
# Desktop VS Code users can instead run `npm run package` and install peerchat-<version>.vsix.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
npm run --silent package >/dev/null
vsix="peerchat-$(node -p 'require("./package.json").version').vsix"

CACHE="${PEERCHAT_CACHE:-$HOME/.cache/peerchat}"
CS="$CACHE/code-server-4.100.3/node_modules/.bin/code-server"
profile="$CACHE/start-profile"
mkdir -p "$profile/user-data/User" "$profile/extensions" "$profile/workspace"
[ -f "$profile/user-data/User/settings.json" ] || echo '{ "workbench.startupEditor": "none" }' > "$profile/user-data/User/settings.json"
export EXTENSIONS_GALLERY='{"serviceUrl":""}'
"$CS" --user-data-dir "$profile/user-data" --extensions-dir "$profile/extensions" --install-extension "$vsix" --force >/dev/null
port="${PEERCHAT_UI_PORT:-8080}"
echo "PeerChat $vsix is installed. Open http://127.0.0.1:$port/ in a browser (Ctrl+C stops it)."
exec "$CS" --auth none --bind-addr "127.0.0.1:$port" --user-data-dir "$profile/user-data" \
  --extensions-dir "$profile/extensions" --disable-telemetry --disable-update-check \
  --disable-getting-started-override "${PEERCHAT_WORKSPACE:-$profile/workspace}"
