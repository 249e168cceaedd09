#!/usr/bin/env bash
# Runs every benchmark in release mode against the local AWS (started if needed) and
# prints one line per figure: `<name> <value> <unit>`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
if [ "${TESSERA_LOCAL_AWS:-}" != "external" ]; then
  "$here/local-aws.sh" start
fi
export RUST_LOG="${RUST_LOG:-off}"
exec cargo run --quiet --release -p tessera-dev -- bench "$@"
