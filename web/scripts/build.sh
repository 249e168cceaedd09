#!/usr/bin/env bash
# Builds the merchant console into web/dist: installs its locked packages from the npm
# registry when they are missing or stale, type-checks, bundles. Used by up.sh and CI.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$web"
if ! command -v npm >/dev/null 2>&1; then
  echo "web/scripts/build.sh: npm is missing: install Node.js 20 (with npm) to build the console" >&2
  exit 1
fi
# Playwright's browser download cannot reach its host here: the tests use Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "web: npm ci (the console's locked packages)" >&2
  npm ci --no-audit --no-fund --loglevel=error || {
    echo "web/scripts/build.sh: npm ci failed (see above): is the npm registry reachable?" >&2
    exit 1
  }
fi
npm run --silent build >/dev/null || {
  echo "web/scripts/build.sh: the console does not build (type or bundle errors above)" >&2
  exit 1
}
echo "web: built web/dist" >&2
