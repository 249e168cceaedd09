#!/usr/bin/env bash
# Builds the deployable artifacts exactly as `sam build` does (BuildMethod rust-cargolambda:
# `cargo lambda build --release --arm64 --bin <Binary>` in CodeUri, the workspace root) and
# reports each bootstrap's size. A cold arm64 release build of every function takes about
# half an hour on two cores, so CI checks the layout (tests/tests/suite/template_checks.rs) and
# this script is run before a deploy:
#
#   ./localstack/sam-build.sh              # then: cd infra && sam deploy --guided
#
# Installs SAM CLI, cargo-lambda and zig (from PyPI) into localstack/.local/sam-venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
venv="$here/.local/sam-venv"
SAM_CLI_VERSION="1.170.0"
CARGO_LAMBDA_VERSION="1.9.2"
ZIG_VERSION="0.14.1"   # the zig cargo-lambda's cross-linking is tested with

say() { printf 'sam-build: %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cargo-lambda" ]; then
  say "installing aws-sam-cli $SAM_CLI_VERSION, cargo-lambda $CARGO_LAMBDA_VERSION and ziglang $ZIG_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check \
    "aws-sam-cli==$SAM_CLI_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION"
fi
if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  say "adding the Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi
export PATH="$venv/bin:$PATH"
# Older SAM CLI versions mark the Rust builder as beta; no telemetry from a build machine.
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 SAM_CLI_TELEMETRY=0
cd "$root/infra"
say "sam build (cargo lambda, release, arm64): cargo prints its progress"
sam build --beta-features --template-file template.yaml --build-dir "$root/infra/.aws-sam/build"
say "bootstrap sizes (limit 10 MB each):"
status=0
for bootstrap in "$root"/infra/.aws-sam/build/*/bootstrap; do
  function_dir="$(basename "$(dirname "$bootstrap")")"
  bytes="$(stat -c %s "$bootstrap")"
  printf 'bootstrap_size_%s %s bytes\n' "$function_dir" "$bytes"
  if [ "$bytes" -gt 10485760 ]; then
    say "$function_dir: $bytes bytes is over 10 MB"
    status=1
  fi
done
exit "$status"
