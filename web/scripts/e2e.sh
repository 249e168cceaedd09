#!/usr/bin/env bash
# The console's browser tests (web/e2e, Playwright driving Debian's Chromium) against a
# local stack of their own: builds the console, installs Chromium (and a CJK font, so the
# screenshots are legible) with apt-get when missing, starts `tessera-dev up` as a fresh
# stack on ports 3100 (API) and 3101 (console), runs the tests, and stops the stack.
# Needs the local AWS running (localstack/test.sh starts it) and the function binaries
# built (cargo build --workspace --bins). Screenshots land in web/artifacts/.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$web/.." && pwd)"
cd "$repo"
# shellcheck source=../../localstack/env.sh
source localstack/env.sh
say() { printf 'e2e: %s\n' "$*" >&2; }

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  say "installing Debian's chromium and a CJK font (apt-get)"
  apt=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then apt=(sudo -n apt-get); else
      say "Chromium is missing at $chromium and this user cannot run apt-get: install the Debian packages chromium and fonts-wqy-microhei (or set CHROMIUM_PATH)"
      exit 1
    fi
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1; then
    "${apt[@]}" update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q chromium fonts-wqy-microhei >/dev/null || {
      say "apt-get could not install chromium: is Debian's package mirror reachable?"
      exit 1
    }
  fi
fi
export CHROMIUM_PATH="$chromium"

"$web/scripts/build.sh"

api_port="${TESSERA_E2E_API_PORT:-3100}"
console_port="${TESSERA_E2E_CONSOLE_PORT:-3101}"
artifacts="$web/artifacts"
mkdir -p "$artifacts"
log="$artifacts/e2e-stack.log"
say "starting a stack of its own on :$api_port (API) and :$console_port (console); log: $log"
# shellcheck source=../../localstack/own-stack.sh
source "$repo/localstack/own-stack.sh"
start_own_stack tessera-e2e "$api_port" "$console_port" "$log"

cd "$web"
TESSERA_API_URL="http://localhost:$api_port" TESSERA_CONSOLE_URL="http://localhost:$console_port" \
  TESSERA_ARTIFACTS="$artifacts" TESSERA_PYTHON="$repo/localstack/.local/venv/bin/python" \
  npx playwright test "$@"
