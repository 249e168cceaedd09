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
# Every answer as documented: no 5xx, and the documented status, content type, body schema
# and headers.
documented="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
# And a schema-valid request is not refused as invalid (positive_data_acceptance; the
# statuses that count as "not refused" are in localstack/schemathesis.toml), but for the
# operations whose rules relate one field to another, to the clock or to objects that must
# exist, which OpenAPI cannot state:
#   dashboard, products list, reports, webhook deliveries: `to` not before `from`, the span
#     at most 3 months (a year for products), both or neither;
#   exports: the query has the fields of the report it names;
#   orders: the product is the merchant's, paid at most 30 days ago;
#   products (create, edit, delist, relist, image): stores, branches and products of the
#     merchant, an image key uploaded before;
#   ticket-page images and uploads: a key uploaded before, a logo at most 1 MiB;
#   paper printing, the wallet's transfers and returns, the ticket page's forms: ticket
#     numbers with their Luhn check digit, the link's own tickets;
#   branch bindings: sub-accounts of the merchant;  login alerts: recipients while an
#   alert is on;  own password: the current one;  issuance uploads: a delivery method of
#   the contract, `valid_from` with deferred delivery only.
cross_field='^/(dashboard|products(/delist|/relist|/\{product_id\}(/image)?)?|reports/.*|webhooks/deliveries(/redeliver-failed)?|exports|orders|merchant/ticket-page/(images/\{image\}|uploads)|paper-tickets/print|wallet/\{token\}/(transfers|return-requests)|t/\{token\}/.*|branch-bindings(/unbind)?|login-alerts|account/password|issuance/uploads)$'
run() { # token, checks, then path filters
  local bearer="$1" checks="$2"
  shift 2
  "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$api/openapi.json" --url "$api" \
    -H "Authorization: Bearer $bearer" --checks "$checks" \
    --max-examples "$examples" --phases examples,fuzzing "${seed_args[@]}" \
    --no-color "$@"
}
# Signing out or switching would end the run's own session: those two are left out (their
# refusals and effects are in the Rust suite).
say "merchant routes, as DEMO0001's admin ($examples examples an operation)"
run "$merchant" "$documented,positive_data_acceptance" \
  --exclude-path-regex "(^/operator|^/sessions/current|$cross_field)"
say "merchant routes with rules across fields, as DEMO0001's admin"
run "$merchant" "$documented" --include-path-regex "$cross_field"
# The stateful phase: sequences that follow the document's links from what a request made
# (a product, a branch, a sub-account, an upload, an export...) to the operations that read
# and change it, with the identifiers the answers gave; every answer as documented.
stateful() { # token, then path filters
  local bearer="$1"
  shift
  "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$api/openapi.json" --url "$api" \
    -H "Authorization: Bearer $bearer" --checks "$documented" \
    --max-examples "${TESSERA_FUZZ_STATEFUL_EXAMPLES:-40}" --phases stateful "${seed_args[@]}" --no-color "$@"
}
say "merchant routes, stateful"
stateful "$merchant" --exclude-path-regex '(^/operator|^/sessions/current)'
# The operator's: a rate's amount is a percentage at most 100 when its basis is percent; the
# print run's ticket numbers carry their Luhn check digit; a document is published once its
# file was uploaded; a contract ends no earlier than it starts.
operator_cross_field='^/operator/(merchants/\{merchant_id\}/(rates|contract)|print-run/status|documents/\{document_id\}/published)$'
say "operator routes, as ops"
run "$operator" "$documented,positive_data_acceptance" --include-path-regex '^/operator' \
  --exclude-path-regex "(^/operator/sessions/current|$operator_cross_field)"
run "$operator" "$documented" --include-path-regex "$operator_cross_field"
say "operator routes, stateful"
stateful "$operator" --include-path-regex '^/operator' --exclude-path-regex '^/operator/sessions/current'
