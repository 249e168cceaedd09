//! Reads `infra/template.yaml`: the table, buckets, queues, functions, routes and schedules
//! that local provisioning, the gateway and the tests derive from it.
//!
//! CloudFormation's short-form intrinsics (`!Sub`, `!Ref`, `!GetAtt`) are resolved for a
//! local stack: pseudo parameters come from [`StackContext`], parameters from their defaults.

use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{resource}: {problem}")]
    Shape { resource: String, problem: String },
}

fn shape(resource: &str, problem: impl Into<String>) -> TemplateError {
    TemplateError::Shape {
        resource: resource.to_owned(),
        problem: problem.into(),
    }
}

/// The values CloudFormation would supply for a stack's pseudo parameters.
#[derive(Debug, Clone)]
pub struct StackContext {
    pub stack_name: String,
    pub account_id: String,
    pub region: String,
    /// Parameter values given at deploy time; the others take their defaults.
    pub parameters: BTreeMap<String, String>,
}

impl StackContext {
    /// The local stack: `TESSERA_STACK_NAME` (default `tessera-local`), the emulators'
    /// account id, and `AWS_REGION` (default `ap-northeast-1`).
    ///
    /// Its console is served on this machine (`tessera-dev up`), so the console's origin
    /// and what its pages connect to are local ones unless set otherwise.
    pub fn local() -> Self {
        StackContext {
            stack_name: std::env::var("TESSERA_STACK_NAME")
                .unwrap_or_else(|_| "tessera-local".to_owned()),
            account_id: "000000000000".to_owned(),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "ap-northeast-1".to_owned()),
            parameters: BTreeMap::from([
                (
                    "ConsoleOrigin".to_owned(),
                    crate::console::LOCAL_CONSOLE_ORIGIN.to_owned(),
                ),
                (
                    "ConsoleConnectSources".to_owned(),
                    crate::console::LOCAL_CONNECT_SOURCES.to_owned(),
                ),
            ]),
        }
    }

    /// The same stack deployed with `name` set to `value`.
    pub fn with_parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn named(stack_name: &str) -> Self {
        StackContext {
            stack_name: stack_name.to_owned(),
            ..StackContext::local()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection_type: String,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    /// Attribute name → type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub key_schema: Vec<KeyElement>,
    pub global_indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`, if the table has a stream.
    pub stream_view_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub logical_id: String,
    pub name: String,
    /// The bucket's CORS rules (browsers PUT to presigned links from the console).
    pub cors: Vec<BucketCorsRule>,
}

/// One rule of a bucket's `CorsConfiguration`, resolved for the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCorsRule {
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub visibility_timeout: Option<i64>,
    pub message_retention: Option<i64>,
    /// The dead-letter queue's logical id and the receive count after which messages move.
    pub dead_letter: Option<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    /// `Auth: {Authorizer: NONE}`: reachable without a session.
    pub public: bool,
}

#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub event_name: String,
    pub expression: String,
    pub timezone: Option<String>,
    pub input: Option<String>,
}

/// A DynamoDB stream event source (`Type: DynamoDB`), as Lambda's event source mapping
/// reads it.
#[derive(Debug, Clone)]
pub struct StreamSourceSpec {
    pub event_name: String,
    /// The table whose stream it reads (`!GetAtt <Table>.StreamArn`).
    pub table: String,
    pub batch_size: usize,
    /// Retries of a failing record before it goes to `on_failure` (-1: until it expires).
    pub maximum_retry_attempts: i64,
    /// The on-failure destination queue's logical id.
    pub on_failure: Option<String>,
    /// `FilterCriteria.Filters[].Pattern`, parsed: a record passes if any pattern matches.
    pub filters: Vec<serde_json::Value>,
    pub report_batch_item_failures: bool,
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `FunctionName`, resolved: what Lambda calls the function (`AWS_LAMBDA_FUNCTION_NAME`).
    pub name: String,
    pub binary: Option<String>,
    /// `CodeUri` as written (relative to the template's folder).
    pub code_uri: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub routes: Vec<RouteSpec>,
    /// Logical ids of the queues this function consumes.
    pub queues: Vec<String>,
    pub schedules: Vec<ScheduleSpec>,
    pub streams: Vec<StreamSourceSpec>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub table: TableSpec,
    pub buckets: Vec<BucketSpec>,
    /// SES identities (domains or addresses) mail is sent from.
    pub email_identities: Vec<String>,
    pub queues: Vec<QueueSpec>,
    /// `AWS::SecretsManager::Secret` resources: logical id → secret name.
    pub secrets: Vec<BucketSpec>,
    pub functions: Vec<FunctionSpec>,
    /// The whole document and the stack it was resolved for, for what is resolved only
    /// once resources exist (a function's environment).
    document: Value,
    context: StackContext,
}

/// What CloudFormation would answer for `!Ref X` and `!GetAtt X.Attr` once the resources
/// exist; locally, the provisioned names, URLs and ARNs.
#[derive(Debug, Clone, Default)]
pub struct ResourceValues {
    /// Logical id → its `Ref` value (table and bucket names, queue URLs, secret ARNs).
    pub refs: BTreeMap<String, String>,
    /// `Logical.Attribute` → value (`Queue.Arn`, `Bucket.Arn`, ...).
    pub attributes: BTreeMap<String, String>,
    /// The stack's pseudo parameters and parameter values, for resolving policies.
    pub region: String,
    pub account: String,
    pub stack_name: String,
    pub parameters: BTreeMap<String, String>,
}

impl ResourceValues {
    /// The ARN of `resource` (in the service's own terms, e.g. `table/NAME`, `BUCKET/KEY`, a
    /// queue name) in this stack's region and account: the one place ARNs are laid out.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        let (region, account) = (&self.region, &self.account);
        match service {
            "s3" => format!("arn:aws:s3:::{resource}"),
            "secretsmanager" if resource.starts_with("arn:") => resource.to_owned(),
            "secretsmanager" => {
                format!("arn:aws:secretsmanager:{region}:{account}:secret:{resource}")
            }
            "sns" => resource.to_owned(),
            _ => format!("arn:aws:{service}:{region}:{account}:{resource}"),
        }
    }
}

/// `infra/template.yaml` of this workspace, found from this crate's manifest directory.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("infra")
        .join("template.yaml")
}

impl Template {
    pub fn load(path: &Path, context: &StackContext) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Template::parse(&text, context)
    }

    pub fn load_default(context: &StackContext) -> Result<Template, TemplateError> {
        Template::load(&default_path(), context)
    }

    pub fn parse(text: &str, context: &StackContext) -> Result<Template, TemplateError> {
        let document: Value = serde_yaml::from_str(text)?;
        let resolver = Resolver::new(&document, context);
        let resources = document
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape("template", "has no Resources"))?;
        let globals = document.get("Globals").and_then(|g| g.get("Function"));
        let globals_timeout = globals
            .and_then(|f| f.get("Timeout"))
            .and_then(Value::as_i64);
        let globals_memory = globals
            .and_then(|f| f.get("MemorySize"))
            .and_then(Value::as_i64);

        let mut tables = Vec::new();
        let mut buckets = Vec::new();
        let mut email_identities = Vec::new();
        let mut queues = Vec::new();
        let mut secrets = Vec::new();
        let mut functions = Vec::new();
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default().to_owned();
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let empty = Value::Mapping(Mapping::new());
            let properties = resource.get("Properties").unwrap_or(&empty);
            match kind {
                "AWS::DynamoDB::Table" => tables.push(parse_table(&id, properties, &resolver)?),
                "AWS::S3::Bucket" => buckets.push(BucketSpec {
                    name: resolver.string(&id, properties.get("BucketName"))?,
                    cors: parse_bucket_cors(&id, properties, &resolver)?,
                    logical_id: id,
                }),
                "AWS::SQS::Queue" => queues.push(parse_queue(&id, properties, &resolver)?),
                "AWS::SecretsManager::Secret" => secrets.push(BucketSpec {
                    name: resolver.string(&id, properties.get("Name"))?,
                    cors: Vec::new(),
                    logical_id: id,
                }),
                "AWS::SES::EmailIdentity" => {
                    email_identities.push(resolver.string(&id, properties.get("EmailIdentity"))?)
                }
                "AWS::Serverless::Function" => functions.push(parse_function(
                    &id,
                    resource,
                    properties,
                    (globals_timeout, globals_memory),
                    &resolver,
                )?),
                _ => {}
            }
        }
        if tables.len() != 1 {
            return Err(shape(
                "template",
                format!("declares {} tables; Tessera uses exactly one", tables.len()),
            ));
        }
        Ok(Template {
            table: tables.remove(0),
            buckets,
            email_identities,
            queues,
            secrets,
            functions,
            context: context.clone(),
            document,
        })
    }

    /// The stack this template was resolved for.
    pub fn context(&self) -> &StackContext {
        &self.context
    }

    /// Every parameter's value: the stack's, else the default.
    pub fn parameter_values(&self) -> BTreeMap<String, String> {
        let mut values = Resolver::new(&self.document, &self.context).parameter_defaults;
        values.extend(self.context.parameters.clone());
        values
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionSpec> {
        self.functions
            .iter()
            .find(|function| function.logical_id == logical_id)
    }

    /// Exactly the variables Lambda would give the function: the Globals' and its own (its
    /// own win), with every reference resolved against `resources`.
    pub fn function_environment(
        &self,
        logical_id: &str,
        resources: &ResourceValues,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let resolver = Resolver::new(&self.document, &self.context).with_resources(resources);
        let function = self
            .document
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .ok_or_else(|| shape(logical_id, "is not a resource of the template"))?;
        let globals = self
            .document
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"));
        let own = function
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"));
        let mut environment = BTreeMap::new();
        for variables in [globals, own].into_iter().flatten() {
            let variables = variables
                .as_mapping()
                .ok_or_else(|| shape(logical_id, "Environment.Variables must be a mapping"))?;
            for (name, value) in variables {
                let name = name
                    .as_str()
                    .ok_or_else(|| shape(logical_id, "a variable name is not a string"))?;
                environment.insert(name.to_owned(), resolver.string(logical_id, Some(value))?);
            }
        }
        Ok(environment)
    }

    /// The sender address functions mail from: `noreply@` the first SES identity.
    pub fn mail_from(&self) -> Option<String> {
        self.email_identities.first().map(|identity| {
            if identity.contains('@') {
                identity.clone()
            } else {
                format!("noreply@{identity}")
            }
        })
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues
            .iter()
            .find(|queue| queue.logical_id == logical_id)
    }

    pub fn bucket(&self, logical_id: &str) -> Option<&BucketSpec> {
        self.buckets
            .iter()
            .find(|bucket| bucket.logical_id == logical_id)
    }

    /// The HTTP API's CORS configuration, resolved for this stack (API Gateway answers the
    /// preflight itself and adds the headers to every response; the local gateway does the
    /// same from this).
    pub fn cors(&self) -> Result<CorsSpec, TemplateError> {
        let id = "HttpApi";
        let resolver = Resolver::new(&self.document, &self.context);
        let cors = self
            .document
            .get("Resources")
            .and_then(|r| r.get(id))
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get("CorsConfiguration"))
            .ok_or_else(|| shape(id, "has no CorsConfiguration"))?;
        let strings = |key: &str| -> Result<Vec<String>, TemplateError> {
            match cors.get(key) {
                None => Ok(Vec::new()),
                Some(value) => sequence(id, Some(value))?
                    .iter()
                    .map(|item| resolver.string(id, Some(item)))
                    .collect(),
            }
        };
        Ok(CorsSpec {
            allow_origins: strings("AllowOrigins")?,
            allow_methods: strings("AllowMethods")?,
            allow_headers: strings("AllowHeaders")?,
            expose_headers: strings("ExposeHeaders")?,
            max_age: cors.get("MaxAge").and_then(Value::as_u64).unwrap_or(0),
        })
    }

    /// The headers CloudFront adds to every console response (the console's response
    /// headers policy), as name and value.
    pub fn console_headers(&self) -> Result<Vec<(String, String)>, TemplateError> {
        let id = "ConsoleResponseHeadersPolicy";
        let config = self
            .document
            .get("Resources")
            .and_then(|r| r.get(id))
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get("ResponseHeadersPolicyConfig"))
            .ok_or_else(|| shape(id, "is not declared"))?;
        let security = config.get("SecurityHeadersConfig");
        let field = |path: &[&str]| -> Option<String> {
            let mut value = security?;
            for key in path {
                value = value.get(*key)?;
            }
            match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let mut headers = Vec::new();
        let resolver = Resolver::new(&self.document, &self.context);
        if let Some(csp) = security
            .and_then(|s| s.get("ContentSecurityPolicy"))
            .and_then(|c| c.get("ContentSecurityPolicy"))
        {
            headers.push((
                "content-security-policy".to_owned(),
                resolver.string(id, Some(csp))?,
            ));
        }
        if security.and_then(|s| s.get("ContentTypeOptions")).is_some() {
            headers.push(("x-content-type-options".to_owned(), "nosniff".to_owned()));
        }
        if let Some(frame) = field(&["FrameOptions", "FrameOption"]) {
            headers.push(("x-frame-options".to_owned(), frame));
        }
        if let Some(referrer) = field(&["ReferrerPolicy", "ReferrerPolicy"]) {
            headers.push(("referrer-policy".to_owned(), referrer));
        }
        if let Some(age) = field(&["StrictTransportSecurity", "AccessControlMaxAgeSec"]) {
            let subdomains = field(&["StrictTransportSecurity", "IncludeSubdomains"])
                .is_some_and(|v| v == "true");
            headers.push((
                "strict-transport-security".to_owned(),
                format!(
                    "max-age={age}{}",
                    if subdomains {
                        "; includeSubDomains"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if let Some(items) = config
            .get("CustomHeadersConfig")
            .and_then(|c| c.get("Items"))
            .and_then(Value::as_sequence)
        {
            for item in items {
                let name = resolver_free_string(item.get("Header"));
                let value = resolver_free_string(item.get("Value"));
                if let (Some(name), Some(value)) = (name, value) {
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
        }
        Ok(headers)
    }

    /// Every HTTP route with the function serving it.
    pub fn routes(&self) -> Vec<(RouteSpec, String)> {
        let mut routes: Vec<_> = self
            .functions
            .iter()
            .flat_map(|function| {
                function
                    .routes
                    .iter()
                    .map(|route| (route.clone(), function.logical_id.clone()))
            })
            .collect();
        routes.sort();
        routes
    }
}

/// The HTTP API's CORS configuration ([`Template::cors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: u64,
}

fn resolver_free_string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn parse_bucket_cors(
    id: &str,
    p: &Value,
    r: &Resolver,
) -> Result<Vec<BucketCorsRule>, TemplateError> {
    let Some(rules) = p.get("CorsConfiguration").and_then(|c| c.get("CorsRules")) else {
        return Ok(Vec::new());
    };
    let strings = |rule: &Value, key: &str| -> Result<Vec<String>, TemplateError> {
        match rule.get(key) {
            None => Ok(Vec::new()),
            Some(values) => sequence(id, Some(values))?
                .iter()
                .map(|value| r.string(id, Some(value)))
                .collect(),
        }
    };
    sequence(id, Some(rules))?
        .iter()
        .map(|rule| {
            Ok(BucketCorsRule {
                allowed_methods: strings(rule, "AllowedMethods")?,
                allowed_origins: strings(rule, "AllowedOrigins")?,
                allowed_headers: strings(rule, "AllowedHeaders")?,
                max_age_seconds: rule
                    .get("MaxAge")
                    .and_then(Value::as_i64)
                    .and_then(|age| i32::try_from(age).ok()),
            })
        })
        .collect()
}

fn parse_table(id: &str, p: &Value, r: &Resolver) -> Result<TableSpec, TemplateError> {
    let attributes = sequence(id, p.get("AttributeDefinitions"))?
        .iter()
        .map(|a| {
            Ok((
                r.string(id, a.get("AttributeName"))?,
                r.string(id, a.get("AttributeType"))?,
            ))
        })
        .collect::<Result<BTreeMap<_, _>, TemplateError>>()?;
    let key_schema = parse_key_schema(id, p.get("KeySchema"), r)?;
    let global_indexes = match p.get("GlobalSecondaryIndexes") {
        None => Vec::new(),
        Some(indexes) => sequence(id, Some(indexes))?
            .iter()
            .map(|index| {
                Ok(IndexSpec {
                    name: r.string(id, index.get("IndexName"))?,
                    key_schema: parse_key_schema(id, index.get("KeySchema"), r)?,
                    projection_type: r.string(
                        id,
                        index
                            .get("Projection")
                            .and_then(|p| p.get("ProjectionType")),
                    )?,
                })
            })
            .collect::<Result<Vec<_>, TemplateError>>()?,
    };
    let ttl_attribute = match p.get("TimeToLiveSpecification") {
        Some(ttl) if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) => {
            Some(r.string(id, ttl.get("AttributeName"))?)
        }
        _ => None,
    };
    let stream_view_type = p
        .get("StreamSpecification")
        .map(|spec| r.string(id, spec.get("StreamViewType")))
        .transpose()?;
    Ok(TableSpec {
        logical_id: id.to_owned(),
        name: r.string(id, p.get("TableName"))?,
        attributes,
        key_schema,
        global_indexes,
        ttl_attribute,
        stream_view_type,
    })
}

fn parse_key_schema(
    id: &str,
    value: Option<&Value>,
    r: &Resolver,
) -> Result<Vec<KeyElement>, TemplateError> {
    sequence(id, value)?
        .iter()
        .map(|k| {
            Ok(KeyElement {
                attribute: r.string(id, k.get("AttributeName"))?,
                key_type: r.string(id, k.get("KeyType"))?,
            })
        })
        .collect()
}

fn parse_queue(id: &str, p: &Value, r: &Resolver) -> Result<QueueSpec, TemplateError> {
    let dead_letter = match p.get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .and_then(get_att_target)
                .ok_or_else(|| {
                    shape(
                        id,
                        "RedrivePolicy.deadLetterTargetArn must be !GetAtt <Queue>.Arn",
                    )
                })?;
            let max = policy
                .get("maxReceiveCount")
                .and_then(Value::as_i64)
                .ok_or_else(|| shape(id, "RedrivePolicy.maxReceiveCount must be a number"))?;
            Some((target, max))
        }
    };
    Ok(QueueSpec {
        logical_id: id.to_owned(),
        name: r.string(id, p.get("QueueName"))?,
        visibility_timeout: p.get("VisibilityTimeout").and_then(Value::as_i64),
        message_retention: p.get("MessageRetentionPeriod").and_then(Value::as_i64),
        dead_letter,
    })
}

fn parse_function(
    id: &str,
    resource: &Value,
    p: &Value,
    (globals_timeout, globals_memory): (Option<i64>, Option<i64>),
    r: &Resolver,
) -> Result<FunctionSpec, TemplateError> {
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut function = FunctionSpec {
        logical_id: id.to_owned(),
        name: r.string(id, p.get("FunctionName"))?,
        binary,
        code_uri: p.get("CodeUri").and_then(Value::as_str).map(str::to_owned),
        timeout: p.get("Timeout").and_then(Value::as_i64).or(globals_timeout),
        memory_size: p
            .get("MemorySize")
            .and_then(Value::as_i64)
            .or(globals_memory),
        routes: Vec::new(),
        queues: Vec::new(),
        schedules: Vec::new(),
        streams: Vec::new(),
    };
    let Some(events) = p.get("Events").and_then(Value::as_mapping) else {
        return Ok(function);
    };
    for (name, event) in events {
        let name = name.as_str().unwrap_or_default();
        let kind = event
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let props = event.get("Properties");
        let prop = |key: &str| props.and_then(|p| p.get(key));
        match kind {
            "HttpApi" => function.routes.push(RouteSpec {
                method: r.string(id, prop("Method"))?.to_ascii_uppercase(),
                path: r.string(id, prop("Path"))?,
                public: prop("Auth")
                    .and_then(|auth| auth.get("Authorizer"))
                    .and_then(Value::as_str)
                    == Some("NONE"),
            }),
            "SQS" => function
                .queues
                .push(prop("Queue").and_then(get_att_target).ok_or_else(|| {
                    shape(
                        id,
                        format!("event {name}: Queue must be !GetAtt <Queue>.Arn"),
                    )
                })?),
            "ScheduleV2" => function.schedules.push(ScheduleSpec {
                event_name: name.to_owned(),
                expression: r.string(id, prop("ScheduleExpression"))?,
                timezone: prop("ScheduleExpressionTimezone")
                    .map(|v| r.string(id, Some(v)))
                    .transpose()?,
                input: prop("Input").map(|v| r.string(id, Some(v))).transpose()?,
            }),
            "DynamoDB" => function.streams.push(parse_stream_source(id, name, prop)?),
            other => {
                return Err(shape(
                    id,
                    format!("event {name}: type {other} is not supported locally"),
                ))
            }
        }
    }
    Ok(function)
}

fn parse_stream_source<'a>(
    id: &str,
    name: &str,
    prop: impl Fn(&str) -> Option<&'a Value>,
) -> Result<StreamSourceSpec, TemplateError> {
    let table = prop("Stream").and_then(get_att_target).ok_or_else(|| {
        shape(
            id,
            format!("event {name}: Stream must be !GetAtt <Table>.StreamArn"),
        )
    })?;
    let on_failure = match prop("DestinationConfig")
        .and_then(|d| d.get("OnFailure"))
        .and_then(|f| f.get("Destination"))
    {
        None => None,
        Some(destination) => Some(get_att_target(destination).ok_or_else(|| {
            shape(
                id,
                format!("event {name}: OnFailure.Destination must be !GetAtt <Queue>.Arn"),
            )
        })?),
    };
    let filters = match prop("FilterCriteria").and_then(|c| c.get("Filters")) {
        None => Vec::new(),
        Some(filters) => sequence(id, Some(filters))?
            .iter()
            .map(|filter| {
                let pattern = filter
                    .get("Pattern")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape(id, format!("event {name}: a filter needs a Pattern")))?;
                serde_json::from_str(pattern).map_err(|e| {
                    shape(id, format!("event {name}: filter pattern is not JSON: {e}"))
                })
            })
            .collect::<Result<Vec<_>, TemplateError>>()?,
    };
    let report_batch_item_failures = prop("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|types| {
            types
                .iter()
                .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
        });
    Ok(StreamSourceSpec {
        event_name: name.to_owned(),
        table,
        batch_size: prop("BatchSize").and_then(Value::as_u64).unwrap_or(100) as usize,
        maximum_retry_attempts: prop("MaximumRetryAttempts")
            .and_then(Value::as_i64)
            .unwrap_or(-1),
        on_failure,
        filters,
        report_batch_item_failures,
    })
}

fn sequence<'a>(id: &str, value: Option<&'a Value>) -> Result<&'a Vec<Value>, TemplateError> {
    value
        .and_then(Value::as_sequence)
        .ok_or_else(|| shape(id, "expected a list"))
}

/// `!GetAtt Queue.Arn` (or the long form) → `Queue`.
fn get_att_target(value: &Value) -> Option<String> {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(s) => s.split('.').next().map(str::to_owned),
            Value::Sequence(parts) => parts.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        },
        Value::Mapping(map) => map
            .get("Fn::GetAtt")
            .and_then(Value::as_sequence)
            .and_then(|parts| parts.first())
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    target
}

struct Resolver<'a> {
    context: &'a StackContext,
    parameter_defaults: BTreeMap<String, String>,
    conditions: Option<&'a Mapping>,
    /// Present once resources exist: `!Ref Resource` and `!GetAtt` then resolve too.
    resources: Option<&'a ResourceValues>,
}

impl<'a> Resolver<'a> {
    fn new(document: &'a Value, context: &'a StackContext) -> Self {
        let parameter_defaults = document
            .get("Parameters")
            .and_then(Value::as_mapping)
            .map(|parameters| {
                parameters
                    .iter()
                    .filter_map(|(name, definition)| {
                        let default = definition.get("Default")?;
                        let text = match default {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            _ => return None,
                        };
                        Some((name.as_str()?.to_owned(), text))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Resolver {
            context,
            parameter_defaults,
            conditions: document.get("Conditions").and_then(Value::as_mapping),
            resources: None,
        }
    }

    fn with_resources(mut self, resources: &'a ResourceValues) -> Self {
        self.resources = Some(resources);
        self
    }

    /// `!Ref X` or `${X}`: a pseudo parameter, a parameter, or (once they exist) a resource.
    fn reference(&self, name: &str) -> Option<String> {
        if let Some((resource, attribute)) = name.split_once('.') {
            return self
                .resources?
                .attributes
                .get(&format!("{resource}.{attribute}"))
                .cloned();
        }
        self.pseudo_or_parameter(name)
            .or_else(|| self.resources?.refs.get(name).cloned())
    }

    /// A condition of the forms the template uses: `!Equals [a, b]`, `!Not [c]`,
    /// `!Condition Name`, or a condition's name.
    fn condition(&self, resource: &str, value: &Value) -> Result<bool, TemplateError> {
        match value {
            Value::String(name) => {
                let definition = self
                    .conditions
                    .and_then(|c| c.get(name.as_str()))
                    .ok_or_else(|| shape(resource, format!("condition {name} is not declared")))?;
                self.condition(resource, definition)
            }
            Value::Tagged(tagged) => {
                let arguments = tagged.value.as_sequence();
                match (tagged.tag.to_string().trim_start_matches('!'), arguments) {
                    ("Equals", Some(pair)) if pair.len() == 2 => Ok(self
                        .string(resource, pair.first())?
                        == self.string(resource, pair.get(1))?),
                    ("Not", Some(one)) if one.len() == 1 => Ok(!self.condition(resource, &one[0])?),
                    ("Condition", _) => self.condition(resource, &tagged.value),
                    (tag, _) => Err(shape(
                        resource,
                        format!("condition !{tag} is not supported locally"),
                    )),
                }
            }
            other => Err(shape(
                resource,
                format!("cannot evaluate condition {other:?}"),
            )),
        }
    }

    fn pseudo_or_parameter(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(self.context.stack_name.clone()),
            "AWS::AccountId" => Some(self.context.account_id.clone()),
            "AWS::Region" => Some(self.context.region.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => self
                .context
                .parameters
                .get(name)
                .or_else(|| self.parameter_defaults.get(name))
                .cloned(),
        }
    }

    /// A scalar, `!Sub` or `!Ref` resolved to a string.
    fn string(&self, resource: &str, value: Option<&Value>) -> Result<String, TemplateError> {
        let value = value.ok_or_else(|| shape(resource, "a required property is missing"))?;
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(tagged) if tagged.tag == "Sub" => match &tagged.value {
                Value::String(pattern) => self.substitute(resource, pattern),
                _ => Err(shape(
                    resource,
                    "only the one-argument form of !Sub is supported",
                )),
            },
            Value::Tagged(tagged) if tagged.tag == "Ref" => {
                let name = tagged.value.as_str().unwrap_or_default();
                self.reference(name).ok_or_else(|| {
                    shape(resource, format!("!Ref {name} cannot be resolved locally"))
                })
            }
            Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
                let name = match &tagged.value {
                    Value::String(s) => s.clone(),
                    Value::Sequence(parts) => parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                    _ => String::new(),
                };
                self.reference(&name).ok_or_else(|| {
                    shape(
                        resource,
                        format!("!GetAtt {name} cannot be resolved locally"),
                    )
                })
            }
            Value::Tagged(tagged) if tagged.tag == "If" => {
                let arguments = tagged
                    .value
                    .as_sequence()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| shape(resource, "!If takes [condition, then, else]"))?;
                let chosen = if self.condition(resource, &arguments[0])? {
                    &arguments[1]
                } else {
                    &arguments[2]
                };
                self.string(resource, Some(chosen))
            }
            other => Err(shape(
                resource,
                format!("cannot resolve {other:?} to a string"),
            )),
        }
    }

    fn substitute(&self, resource: &str, pattern: &str) -> Result<String, TemplateError> {
        substitute(pattern, |name| {
            self.reference(name)
                .ok_or_else(|| format!("${{{name}}} cannot be resolved locally"))
        })
        .map_err(|problem| shape(resource, problem))
    }
}

/// `Fn::Sub`'s `${Name}` replacement, each name answered by `lookup`.
pub fn substitute(
    pattern: &str,
    lookup: impl Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {pattern:?}"))?;
        out.push_str(&lookup(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_template_parses_with_everything_resolved() {
        let template = Template::load_default(&StackContext::named("unit")).unwrap();
        assert_eq!(template.table.name, "unit-main");
        assert_eq!(template.table.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(template.buckets.iter().all(|b| b.name.starts_with("unit-")));
        let batch = template.queue("BatchIssueQueue").unwrap();
        assert_eq!(batch.name, "unit-batch-issue");
        assert_eq!(
            batch.dead_letter,
            Some(("BatchIssueDeadLetterQueue".to_owned(), 5))
        );
        assert!(template
            .routes()
            .iter()
            .any(|(route, function)| route.path == "/error-codes"
                && route.method == "GET"
                && function == "ErrorCodesFunction"));
    }

    #[test]
    fn every_work_queue_has_a_dead_letter_queue_and_consumers_fit_the_visibility_timeout() {
        let template = Template::load_default(&StackContext::named("unit")).unwrap();
        for queue in template
            .queues
            .iter()
            .filter(|q| !q.logical_id.ends_with("DeadLetterQueue"))
        {
            let (dlq, _) = queue
                .dead_letter
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no DLQ", queue.logical_id));
            assert!(template.queue(dlq).is_some(), "{dlq} is not declared");
        }
        for function in &template.functions {
            for queue_id in &function.queues {
                let queue = template.queue(queue_id).unwrap();
                let timeout = function.timeout.unwrap_or(3);
                assert!(
                    queue.visibility_timeout.unwrap_or(30) >= 6 * timeout,
                    "{queue_id} visibility timeout is under 6x {}'s timeout",
                    function.logical_id
                );
            }
        }
    }

    #[test]
    fn unresolvable_substitutions_are_reported() {
        let text = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Sub \"${Nope}-x\"\n      AttributeDefinitions: []\n      KeySchema: []\n";
        let error = Template::parse(text, &StackContext::named("s")).unwrap_err();
        assert!(error.to_string().contains("Nope"), "{error}");
    }
}
