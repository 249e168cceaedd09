"""LocalStack init hook: create the table, buckets and queues that infra/template.yaml
declares, as `tessera-dev provision` does (docs/decisions/0003). Idempotent.

Runs inside the LocalStack container (which has boto3 and PyYAML); it can also be run
against any emulator with AWS_ENDPOINT_URL set, which is how it is checked without Docker.
"""
import json
import os
import re

import boto3
import yaml

STACK = os.environ.get("TESSERA_STACK_NAME", "tessera-local")
ACCOUNT = "000000000000"
REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
TEMPLATE = os.environ.get("TESSERA_TEMPLATE", "/etc/tessera/template.yaml")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
DYNAMODB_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", ENDPOINT)


class Tagged:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


class TemplateLoader(yaml.SafeLoader):
    pass


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tagged(suffix, value)


TemplateLoader.add_multi_constructor("!", _tagged)


def resolve(value, parameters):
    if isinstance(value, Tagged) and value.tag == "Sub":
        pseudo = {"AWS::StackName": STACK, "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo.get(m.group(1)) or parameters[m.group(1)], value.value)
    if isinstance(value, Tagged) and value.tag == "Ref":
        return parameters[value.value]
    return value


def get_att_target(value):
    return value.value.split(".")[0] if isinstance(value, Tagged) else value["Fn::GetAtt"][0]


def main():
    with open(TEMPLATE, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=TemplateLoader)
    parameters = {k: str(v.get("Default")) for k, v in (template.get("Parameters") or {}).items()}
    resources = template["Resources"]
    dynamodb = boto3.client("dynamodb", endpoint_url=DYNAMODB_ENDPOINT, region_name=REGION)
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=ENDPOINT, region_name=REGION)

    for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"):
        name = resolve(props["TableName"], parameters)
        if name not in dynamodb.list_tables()["TableNames"]:
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
            )
            dynamodb.get_waiter("table_exists").wait(TableName=name)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("AttributeName") != ttl["AttributeName"]:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
        print(f"tessera: table {name} ready")

    for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::S3::Bucket"):
        name = resolve(props["BucketName"], parameters)
        try:
            if REGION == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
        print(f"tessera: bucket {name} ready")

    ses = boto3.client("sesv2", endpoint_url=ENDPOINT, region_name=REGION)
    for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::SES::EmailIdentity"):
        identity = resolve(props["EmailIdentity"], parameters)
        try:
            ses.create_email_identity(EmailIdentity=identity)
        except ses.exceptions.AlreadyExistsException:
            pass
        print(f"tessera: mail identity {identity} ready")

    queues = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    urls = {}
    # Dead-letter queues first: a work queue's redrive policy needs its DLQ's ARN.
    for logical_id in sorted(queues, key=lambda k: "RedrivePolicy" in queues[k]):
        props = queues[logical_id]
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            policy = props["RedrivePolicy"]
            target_url = urls[get_att_target(policy["deadLetterTargetArn"])]
            arn = sqs.get_queue_attributes(QueueUrl=target_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": policy["maxReceiveCount"]}
            )
        name = resolve(props["QueueName"], parameters)
        urls[logical_id] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        print(f"tessera: queue {name} ready")


if __name__ == "__main__":
    main()
