#!/usr/bin/env bash
# Runs every benchmark in release mode against the local AWS (started if needed) and
# prints one line per figure: `<name> <value> <unit>`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
export RUST_LOG="${RUST_LOG:-off}"
bench() { cargo run --quiet --release -p tessera-dev -- bench "$@"; }
console() {
  cargo build --quiet --workspace --bins
  "$here/../web/scripts/bench.sh"
}
# The cold-start and export groups start functions from their release binaries, as
# deployed.
case "${1:-all}" in
  all | cold | export)
    cargo build --quiet --release --workspace --bins
    export TESSERA_FUNCTION_BINARIES="$PWD/target/release"
    ;;
esac
if [ "${TESSERA_LOCAL_AWS:-}" != "external" ]; then
  dynamodb_was_up=yes
  curl -s -o /dev/null --max-time 2 "$AWS_ENDPOINT_URL_DYNAMODB" || dynamodb_was_up=no
  "$here/local-aws.sh" start
  if [ "$dynamodb_was_up" = no ]; then
    # DynamoDB Local is a JVM: in its first minutes every answer is slower (a first run
    # gave p50s 15-20 % higher, and a ratio 0.05 higher). Production
    # DynamoDB has no such warm-up, so one unreported pass of the redemption benchmark
    # warms the emulator first, and runs compare with each other.
    echo "bench: warming the freshly started DynamoDB Local (one unreported redeem pass)" >&2
    bench redeem >/dev/null
  fi
fi
# The console is measured in Chromium (web/scripts/bench.sh); the other groups in Rust.
case "${1:-all}" in
  console) console ;;
  all) bench && console ;;
  *) bench "$@" ;;
esac
