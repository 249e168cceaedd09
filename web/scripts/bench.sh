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
log="$(mktemp)"
TESSERA_STACK_NAME="tessera-bench-$$" TESSERA_CONSOLE_PORT="$console_port" TESSERA_LOG_FORMAT=json RUST_LOG=off \
  "${CARGO_TARGET_DIR:-$repo/target}/debug/tessera-dev" up --port "$api_port" >"$log" 2>&1 &
stack=$!
trap 'kill "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 120); do
  kill -0 "$stack" 2>/dev/null || { echo "bench console: the stack stopped:" >&2; tail -n 20 "$log" >&2; exit 1; }
  curl -sf -o /dev/null "http://localhost:$console_port/config.json" && break
  sleep 1
done
cd "$web"
TESSERA_API_URL="http://localhost:$api_port" TESSERA_CONSOLE_URL="http://localhost:$console_port" node scripts/bench.mjs
