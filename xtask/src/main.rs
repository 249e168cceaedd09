//! `tessera-dev`: provision the local AWS from the template, run the local gateway.
//!
//!   tessera-dev provision        create the table, buckets and queues (idempotent)
//!   tessera-dev up [--port N] [--in-process]
//!                                provision, then serve every function on localhost: each
//!                                in its own processes as deployed (default), or all in this
//!                                one process (quicker to rebuild, but not what ships)
//!   tessera-dev bench [group]    run the benchmarks (or one group) against the local AWS
//!   tessera-dev openapi          print the OpenAPI document
//!   tessera-dev status-coverage [DIR]
//!                                the documented answers the tests' status log did not meet

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tessera_dev::console::{self, LOCAL_CONNECT_SOURCES};
use tessera_dev::deployed::{self, DeployedFunctions};
use tessera_dev::functions::HandlerContext;
use tessera_dev::gateway::{self, GatewayState};
use tessera_dev::lambda_host::{self, LocalEnvironment};
use tessera_dev::provision::{provision, LocalAws};
use tessera_dev::template::{StackContext, Template};
use tessera_platform::services::SystemClock;
use tessera_platform::session::SigningKeys;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("provision") => run_provision(StackContext::local()).await.map(|_| ()),
        Some("up") => {
            run_up(
                port_argument(&args),
                args.iter().any(|a| a == "--in-process"),
            )
            .await
        }
        Some("bench") => tessera_dev::bench::run(args.get(1).map(String::as_str))
            .await
            .map_err(|e| e.to_string()),
        Some("openapi") => serde_json::to_string_pretty(&tessera_dev::openapi::document())
            .map(|json| println!("{json}"))
            .map_err(|e| e.to_string()),
        Some("console-publish") => publish_console(&args).await,
        Some("status-coverage") => {
            tessera_dev::status_coverage::run(args.get(1).map(String::as_str))
        }
        _ => Err(
            "usage: tessera-dev provision | up [--port N] [--in-process] | bench [group] | openapi | status-coverage [DIR] \
             | console-publish --bucket <ConsoleBucketName> --api-url <ApiUrl>"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera-dev: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Deploys the built console (web/dist) to a stack: its files into the stack's
/// `ConsoleBucketName` output, with a config.json naming the stack's `ApiUrl`, using the
/// AWS credentials of the environment. CloudFront serves the new files at once for the
/// page and its configuration (stored no-cache); the hashed assets are new names.
async fn publish_console(args: &[String]) -> Result<(), String> {
    let value = |name: &str| {
        args.windows(2)
            .find(|pair| pair[0] == name)
            .map(|pair| pair[1].clone())
            .ok_or_else(|| format!("console-publish needs {name} (see the stack's outputs)"))
    };
    let (bucket, api_url) = (value("--bucket")?, value("--api-url")?);
    // The platform's own SDK configuration (credentials and region from the environment,
    // its HTTP client and retry settings).
    let config = tessera_platform::aws::load_sdk_config().await;
    let s3 = tessera_platform::aws::s3_client(&config);
    let files = console::publish(&s3, &bucket, &console::dist_dir(), &api_url).await?;
    println!("published the console ({files} files) to bucket {bucket}, calling {api_url}");
    Ok(())
}

/// Where the local console is served: `TESSERA_CONSOLE_PORT`, default 3001.
fn console_port_argument() -> u16 {
    std::env::var("TESSERA_CONSOLE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001)
}

fn port_argument(args: &[String]) -> u16 {
    args.windows(2)
        .find(|pair| pair[0] == "--port")
        .and_then(|pair| pair[1].parse().ok())
        .or_else(|| {
            std::env::var("TESSERA_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
        })
        .unwrap_or(3000)
}

async fn run_provision(
    context: StackContext,
) -> Result<(LocalAws, Template, tessera_dev::provision::Provisioned), String> {
    let template = Template::load_default(&context).map_err(|e| e.to_string())?;
    let aws = LocalAws::from_env().await;
    let provisioned = provision(&aws, &template).await.map_err(|e| {
        format!(
            "provisioning failed: {}\n  Is the local AWS the one localstack/local-aws.sh started? \
                 `./localstack/local-aws.sh status` says; `./localstack/local-aws.sh stop` and \
                 run again to start afresh.",
            tessera_dev::provision::describe_error(e.as_ref())
        )
    })?;
    println!(
        "provisioned stack {}: table {}, {} buckets, {} queues",
        context.stack_name,
        provisioned.table_name,
        provisioned.buckets.len(),
        provisioned.queue_urls.len()
    );
    Ok((aws, template, provisioned))
}

async fn run_up(port: u16, in_process: bool) -> Result<(), String> {
    tessera_platform::telemetry::init();
    let public_url = format!("http://localhost:{port}");
    let console_port = console_port_argument();
    // `TESSERA_CONSOLE_ORIGIN` admits another origin instead (Vite's dev server, say).
    let console_origin = std::env::var("TESSERA_CONSOLE_ORIGIN")
        .unwrap_or_else(|_| format!("http://localhost:{console_port}"));
    let (aws, template, provisioned) =
        // Callbacks may reach the local receiver (`/_dev/webhooks`) over http; the console
        // is served beside the API, and the API's CORS lets exactly its origin call.
        run_provision(
            StackContext::local()
                .with_parameter("PublicUrl", &public_url)
                .with_parameter("CallbackTargets", "any")
                .with_parameter("ConsoleOrigin", &console_origin)
                .with_parameter("ConsoleConnectSources", LOCAL_CONNECT_SOURCES),
        )
        .await?;
    let console_bucket = provisioned
        .buckets
        .get(console::CONSOLE_BUCKET)
        .ok_or("the template declares no ConsoleBucket")?
        .clone();
    // The console as the deploy publishes it: into its bucket, with the API's address.
    match console::publish(&aws.s3, &console_bucket, &console::dist_dir(), &public_url).await {
        Ok(files) => println!("published the console ({files} files) to bucket {console_bucket}"),
        Err(problem) => eprintln!("warning: the console is not served: {problem}"),
    }
    let console_server = console::ConsoleServer::new(
        aws.s3.clone(),
        &console_bucket,
        &template.console_headers().map_err(|e| e.to_string())?,
    )?;
    let cors = template.cors().map_err(|e| e.to_string())?;
    let keys = SigningKeys::from_secret(
        aws.secrets.clone(),
        provisioned
            .secrets
            .get("SigningKeySecret")
            .ok_or("the template declares no SigningKeySecret")?,
    )
    .await?;
    let services = deployed::stack_services(&aws, &template, &provisioned, Arc::new(SystemClock))?
        .with_signing_keys(keys);
    let context = HandlerContext {
        services: services.clone(),
        ses: aws.ses.clone(),
        sns: aws.sns.clone(),
        mail_from: template
            .mail_from()
            .ok_or("the template declares no SES identity")?,
    };
    let seeded = tessera_dev::seed::seed_demo(&services)
        .await
        .map_err(|e| format!("seeding failed: {e}"))?;
    println!("{seeded}");
    let app = if in_process {
        let state = GatewayState::new(aws.clone(), &template, provisioned.clone(), services)?;
        gateway::spawn_queue_pollers(&aws, &template, &provisioned, &context)?;
        let streams = tessera_dev::functions::stream_handlers(&context)?
            .into_iter()
            .map(|(id, handler)| (id.to_owned(), handler))
            .collect();
        gateway::spawn_stream_pollers(&aws, &template, &provisioned, streams).await?;
        gateway::spawn_scheduler(&state);
        println!("every function runs inside this process (--in-process)");
        gateway::router(state)
    } else {
        let resources = deployed::resource_values(&template, &provisioned);
        let functions = DeployedFunctions::new(
            &template,
            &resources,
            &lambda_host::binaries_dir(),
            &LocalEnvironment::from_env(),
            true,
        )?;
        let (queues, schedules) = deployed::handlers(&functions, &template);
        let state = GatewayState::with_schedules(
            aws.clone(),
            &template,
            provisioned.clone(),
            services,
            schedules,
        )?;
        gateway::spawn_queue_pollers_with(&aws, &template, &provisioned, queues)?;
        let streams = deployed::stream_handlers(&functions, &template);
        gateway::spawn_stream_pollers(&aws, &template, &provisioned, streams).await?;
        gateway::spawn_scheduler(&state);
        println!(
            "each function runs in its own processes from {}, with the template's environment",
            lambda_host::binaries_dir().display()
        );
        gateway::router_over(state, functions.router(&template))
    };
    match tessera_dev::seed::seed_demo_orders(&app).await {
        Ok(seeded) => println!("{seeded}"),
        Err(problem) => eprintln!("warning: {problem}"),
    }
    let app = gateway::with_cors(app, cors);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let console_address = SocketAddr::from(([127, 0, 0, 1], console_port));
    let console_listener = tokio::net::TcpListener::bind(console_address)
        .await
        .map_err(|e| format!("cannot listen on {console_address} for the console: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(console_listener, console_server.router()).await {
            eprintln!("the console server stopped: {e}");
        }
    });
    println!(
        "Tessera is running at http://localhost:{port}  (health: /health, API: /openapi.json)"
    );
    println!("The merchant console is at http://localhost:{console_port}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
