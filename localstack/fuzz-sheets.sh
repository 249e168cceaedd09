#!/usr/bin/env bash
# Runs each generated-input property of the issuance reader's hostile-files test
# (shared/sheets/tests/hostile_files.rs) for a fixed time, in batches with fresh random
# seeds, and prints how many cases each ran: `./localstack/fuzz-sheets.sh [MINUTES]`
# (default 10 a property). A failing case stops the run, is shrunk by proptest, and is saved
# under shared/sheets/proptest-regressions/ (commit it: every run replays it first).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
minutes="${1:-10}"
batch="${TESSERA_FUZZ_BATCH:-20000}"
echo "fuzz-sheets: building the test in release mode" >&2
binary="$(cargo test -p tessera-sheets --test hostile_files --release --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "hostile_files":
        print(m["executable"])')"
if [ -z "$binary" ]; then
  echo "fuzz-sheets: the test binary did not build: run 'cargo test -p tessera-sheets --test hostile_files --release' to see why" >&2
  exit 1
fi
properties="$("$binary" --list 2>/dev/null | sed -n 's/: test$//p' | grep '_are_answered$\|_is_answered$' | grep -v '^every_')"
for property in $properties; do
  start=$(date +%s)
  cases=0
  while [ $(( $(date +%s) - start )) -lt $(( minutes * 60 )) ]; do
    if ! PROPTEST_CASES="$batch" "$binary" --exact "$property" -q >/tmp/fuzz-sheets.$$ 2>&1; then
      cat /tmp/fuzz-sheets.$$ >&2
      echo "fuzz-sheets: $property failed after about $cases cases (the case is saved under shared/sheets/proptest-regressions/)" >&2
      exit 1
    fi
    cases=$((cases + batch))
  done
  echo "fuzz_sheets $property $cases cases $(( $(date +%s) - start )) s"
done
rm -f /tmp/fuzz-sheets.$$
