# Sourced by the scripts that need a stack of their own (web/scripts/e2e.sh,
# web/scripts/bench.sh, localstack/api-fuzz.sh): `start_own_stack NAME API_PORT CONSOLE_PORT
# LOG [up's flags]` starts `tessera-dev up` as stack NAME on the two ports, logging to LOG,
# stops it when the calling script exits, and returns once the API and the console answer
# (or exits saying why not). Needs the local AWS running and tessera-dev built.
start_own_stack() {
  local name="$1" api_port="$2" console_port="$3" log="$4"
  shift 4
  local port
  for port in "$api_port" "$console_port"; do
    if curl -s -o /dev/null "http://localhost:$port/"; then
      printf '%s: port %s is taken (another stack?): stop what listens there\n' "$name" "$port" >&2
      exit 1
    fi
  done
  local repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  TESSERA_STACK_NAME="$name-$$" TESSERA_CONSOLE_PORT="$console_port" TESSERA_LOG_FORMAT=json \
    "${CARGO_TARGET_DIR:-$repo/target}/debug/tessera-dev" up --port "$api_port" "$@" >"$log" 2>&1 &
  own_stack_pid=$!
  trap 'kill "$own_stack_pid" 2>/dev/null || true; wait "$own_stack_pid" 2>/dev/null || true' EXIT
  local _
  for _ in $(seq 1 120); do
    if ! kill -0 "$own_stack_pid" 2>/dev/null; then
      printf '%s: the stack stopped while starting; the end of its log:\n' "$name" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
    if curl -sf -o /dev/null "http://localhost:$api_port/health" &&
      curl -sf -o /dev/null "http://localhost:$console_port/config.json"; then
      return 0
    fi
    sleep 1
  done
  printf '%s: the stack did not answer within 120 s; the end of its log:\n' "$name" >&2
  tail -n 30 "$log" >&2
  exit 1
}
