#!/usr/bin/env bash
# Property-based testing of the HTTP API from its own OpenAPI document (Schemathesis),
# against a local stack of its own (in process, ports 3500/3501), signed in: a merchant's
# admin for the merchant routes, the platform operator for /operator. Every generated
# request must get no 5xx, a documented status, the documented content type, and a body
# that conforms to the documented schema (problem+json for errors).
#
#   localstack/api-fuzz.sh                 bounded (CI): 5 examples an operation, fixed seed
#   TESSERA_FUZZ_EXAMPLES=100 TESSERA_FUZZ_SEED= localstack/api-fuzz.sh   a longer, random run
#
# Needs the local AWS running (localstack/test.sh starts it) and tessera-dev built.
# Schemathesis installs into localstack/.local/fuzz-venv (its own, beside moto's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
# shellcheck source=env.sh
source "$here/env.sh"
say() { printf 'api-fuzz: %s\n' "$*" >&2; }

SCHEMATHESIS_VERSION="4.32.5"
venv="$here/.local/fuzz-venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" || {
    say "pip could not install schemathesis: is PyPI reachable?"
    exit 1
  }
fi

port="${TESSERA_FUZZ_PORT:-3500}"
# shellcheck source=own-stack.sh
source "$here/own-stack.sh"
export RUST_LOG=off
mkdir -p "$here/.local/logs"
start_own_stack tessera-fuzz "$port" "$((port + 1))" "$here/.local/logs/api-fuzz-stack.log" --in-process
api="http://localhost:$port"
token() { # path, JSON body → the session token
  curl -sf "$api$1" -H 'content-type: application/json' -d "$2" |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
merchant="$(token /sessions '{"merchant_id":"DEMO0001","account":"admin","password":"Demo#2026"}')"
operator="$(token /operator/sessions '{"account":"ops","password":"Operator#2026"}')"

examples="${TESSERA_FUZZ_EXAMPLES:-5}"
seed_args=()
if [ -n "${TESSERA_FUZZ_SEED-20261204}" ]; then seed_args=(--seed "${TESSERA_FUZZ_SEED-20261204}"); fi
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
run() { # token, then path filters
  local bearer="$1"
  shift
  "$venv/bin/schemathesis" run "$api/openapi.json" --url "$api" \
    -H "Authorization: Bearer $bearer" --checks "$checks" \
    --max-examples "$examples" --phases examples,fuzzing "${seed_args[@]}" \
    --no-color "$@"
}
# Signing out or switching would end the run's own session: those two are left out (their
# refusals and effects are in the Rust suite).
say "merchant routes, as DEMO0001's admin ($examples examples an operation)"
run "$merchant" --exclude-path-regex '^/operator' --exclude-path-regex '^/sessions/current'
say "operator routes, as ops"
run "$operator" --include-path-regex '^/operator' --exclude-path-regex '^/operator/sessions/current'
