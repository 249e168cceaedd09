#!/usr/bin/env bash
# Runs the whole test suite: starts the local AWS if needed, then every unit, storage and
# end-to-end test of the workspace. Each test provisions its own stack (own table, buckets
# and queues), so tests run in parallel and can be repeated against the same emulators.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
if [ "${TESSERA_LOCAL_AWS:-}" != "external" ]; then
  "$here/local-aws.sh" start
fi
exec cargo test --workspace "$@"
