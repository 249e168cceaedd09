#!/usr/bin/env bash
# The console group of ./localstack/bench.sh: builds the console, starts a stack of its own
# on ports 3200/3201 (as web/scripts/e2e.sh does), and measures it in Chromium
# (web/scripts/bench.mjs). Needs the local AWS running and the function binaries built.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$web/.." && pwd)"
cd "$repo"
# shellcheck source=../../localstack/env.sh
source localstack/env.sh
"$web/scripts/build.sh" 2>/dev/null
api_port="${TESSERA_BENCH_API_PORT:-3200}"
console_port="${TESSERA_BENCH_CONSOLE_PORT:-3201}"
export RUST_LOG=off
log="$repo/localstack/.local/logs/bench-console-stack.log"
mkdir -p "$(dirname "$log")"
# shellcheck source=../../localstack/own-stack.sh
source "$repo/localstack/own-stack.sh"
start_own_stack tessera-bench "$api_port" "$console_port" "$log"
cd "$web"
TESSERA_API_URL="http://localhost:$api_port" TESSERA_CONSOLE_URL="http://localhost:$console_port" node scripts/bench.mjs
