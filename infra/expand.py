#!/usr/bin/env python3
"""Expands infra/template.yaml offline, as CloudFormation's AWS::Serverless transform would,
and prints the resulting CloudFormation template as JSON. Used by the template checks
(tests/tests/suite/template_checks.rs) and the least-privilege test; needs aws-sam-translator, which
`localstack/local-aws.sh install` puts into localstack/.local/venv.

    localstack/.local/venv/bin/python infra/expand.py [template.yaml] > expanded.json
"""
import json
import os
import sys

try:
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse
    from samtranslator.model.exceptions import InvalidDocumentException
except ImportError:
    sys.exit("expand.py: aws-sam-translator is not installed; run ./localstack/local-aws.sh install")

# Managed policies by name, for SAM to turn into ARNs without asking IAM. Only the ones
# SAM adds itself (execution, tracing) are used by this template.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "template.yaml")
    with open(path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    # SAM resolves intrinsics only where it must; it needs a region for ARNs it builds.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "ap-northeast-1"))
    # `sam package` replaces local code paths with the S3 objects it uploads; stand in for it.
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        code = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code, str) and not code.startswith("s3://"):
            properties["CodeUri"] = f"s3://tessera-artifacts/{logical_id}.zip"
    translator = Translator(MANAGED_POLICIES, Parser())
    try:
        expanded = translator.translate(sam_template=template, parameter_values={})
    except InvalidDocumentException as error:
        messages = "; ".join(str(cause) for cause in error.causes)
        sys.exit(f"expand.py: the template is not valid SAM: {messages}")
    json.dump(expanded, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
