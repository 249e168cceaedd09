#!/usr/bin/env bash
# Runs the whole test suite: starts the local AWS if needed, then every unit, storage and
# end-to-end test of the workspace, then the console's browser tests. Each test provisions its own stack (own table, buckets
# and queues), so tests run in parallel and can be repeated against the same emulators.
# The emulators this script starts are stopped when it ends; ones already running are kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
if [ "${TESSERA_LOCAL_AWS:-}" != "external" ]; then
  already="$("$here/local-aws.sh" running)"
  "$here/local-aws.sh" start
  started=""
  for name in dynamodb moto; do
    case "$already" in *"$name"*) ;; *) started="$started $name" ;; esac
  done
  if [ -n "$started" ]; then
    trap '"$here/local-aws.sh" stop "$started"' EXIT
  fi
fi
# The deployed-function tests (tests/tests/suite/deployed.rs) start each function from its own
# binary, as Lambda does: build them first.
echo "test.sh: building the function binaries" >&2
cargo build --workspace --bins
# Every answer the end-to-end tests meet is logged, so that after a whole run the answers the
# OpenAPI document promises and no test reached are listed (tessera-dev status-coverage).
# Absolute: each test binary runs in its own crate's folder, not here.
status_log="${CARGO_TARGET_DIR:-target}/status-log"
rm -rf "$status_log"
mkdir -p "$status_log"
status_log="$(cd "$status_log" && pwd)"
export TESSERA_STATUS_LOG_DIR="$status_log"
cargo test --workspace "$@"
if [ "$#" -eq 0 ]; then
  echo "test.sh: the documented answers the tests reached (tessera-dev status-coverage)" >&2
  cargo run --quiet -p tessera-dev --bin tessera-dev -- status-coverage "$status_log"
fi
# The merchant console in a real browser (web/e2e): after the Rust tests, on a stack of its
# own. A filtered run (arguments given) is about the Rust tests and skips it, as does
# TESSERA_SKIP_BROWSER=1.
if [ "$#" -eq 0 ] && [ "${TESSERA_SKIP_BROWSER:-}" != "1" ]; then
  echo "test.sh: the console's browser tests (web/scripts/e2e.sh)" >&2
  "$here/../web/scripts/e2e.sh"
fi
# The API against generated requests from its own OpenAPI document (Schemathesis), bounded.
if [ "$#" -eq 0 ] && [ "${TESSERA_SKIP_FUZZ:-}" != "1" ]; then
  echo "test.sh: the API fuzzed from its OpenAPI document (localstack/api-fuzz.sh)" >&2
  "$here/api-fuzz.sh"
fi
