#!/usr/bin/env bash
# Runs Tessera locally: starts the local AWS if needed, provisions it from
# infra/template.yaml, and serves every function on http://localhost:3000, each from its
# own binary in its own processes with the template's environment (as deployed). Pass
# --in-process to run every function inside the gateway instead (quicker to rebuild).
# Set TESSERA_LOCAL_AWS=external to use an emulator you started yourself (e.g. LocalStack).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
if [ "${TESSERA_LOCAL_AWS:-}" != "external" ]; then
  "$here/local-aws.sh" start
fi
export TESSERA_LOG_FORMAT="${TESSERA_LOG_FORMAT:-pretty}"
# The merchant console (web/), published to its bucket by `tessera-dev up` and served at
# http://localhost:3001.
"$here/../web/scripts/build.sh"
# The first build compiles the AWS SDK and takes minutes: cargo shows its progress.
echo "up.sh: building the functions and the local gateway" >&2
cargo build --workspace --bins
exec cargo run --quiet -p tessera-dev -- up "$@"
