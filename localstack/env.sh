# Configuration that points Tessera at the local AWS. Sourced by up.sh and test.sh;
# `source localstack/env.sh` to use the AWS SDK or CLI against it by hand.
# Only the standard AWS variables are used: code never branches on "local".
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:${TESSERA_MOTO_PORT:-4566}}"
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:${TESSERA_DYNAMODB_PORT:-8000}}"
export AWS_REGION="${AWS_REGION:-ap-northeast-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export TESSERA_S3_FORCE_PATH_STYLE="${TESSERA_S3_FORCE_PATH_STYLE:-true}"
export TESSERA_STACK_NAME="${TESSERA_STACK_NAME:-tessera-local}"
# Session tokens are signed with the SigningKeySecret of the template, which provisioning
# creates (with a generated value) in the local Secrets Manager, as CloudFormation does.
