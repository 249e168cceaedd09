//! Which code serves which function of the template. The gateway mounts these; a test
//! checks that this list and `infra/template.yaml` agree in both directions.

use crate::streams::StreamHandler;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tessera_platform::services::{Resource, Services};
use utoipa_axum::router::OpenApiRouter;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An HTTP function: its template logical id and its routes (with their OpenAPI).
pub struct HttpFunction {
    pub logical_id: &'static str,
    pub routes: OpenApiRouter<Services>,
}

/// A queue-consuming function, called as Lambda's SQS integration would call it.
pub type QueueHandler =
    Arc<dyn Fn(SqsEvent) -> BoxFuture<Result<SqsBatchResponse, BoxError>> + Send + Sync>;

/// A scheduled function, called with the schedule's input as Lambda would receive it.
pub type ScheduledHandler =
    Arc<dyn Fn(serde_json::Value) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;

pub fn http_functions() -> Vec<HttpFunction> {
    vec![
        HttpFunction {
            logical_id: "ErrorCodesFunction",
            routes: fn_error_codes::routes(),
        },
        HttpFunction {
            logical_id: "AuthFunction",
            routes: fn_auth::routes(),
        },
        HttpFunction {
            logical_id: "OperatorFunction",
            routes: fn_operator::routes(),
        },
        HttpFunction {
            logical_id: "AccountsFunction",
            routes: fn_accounts::routes(),
        },
        HttpFunction {
            logical_id: "BranchesFunction",
            routes: fn_branches::routes(),
        },
        HttpFunction {
            logical_id: "MerchantFunction",
            routes: fn_merchant::routes(),
        },
        HttpFunction {
            logical_id: "StoresFunction",
            routes: fn_stores::routes(),
        },
        HttpFunction {
            logical_id: "ProductsFunction",
            routes: fn_products::routes(),
        },
        HttpFunction {
            logical_id: "OrdersFunction",
            routes: fn_orders::routes(),
        },
        HttpFunction {
            logical_id: "IssuanceFunction",
            routes: fn_issuance::routes(),
        },
        HttpFunction {
            logical_id: "RedeemFunction",
            routes: fn_redeem::routes(),
        },
        HttpFunction {
            logical_id: "ReturnFunction",
            routes: fn_return::routes(),
        },
        HttpFunction {
            logical_id: "ReportsFunction",
            routes: fn_reports::routes(),
        },
        HttpFunction {
            logical_id: "IssuedOrdersFunction",
            routes: fn_issued_orders::routes(),
        },
        HttpFunction {
            logical_id: "PaperPrintingFunction",
            routes: fn_paper_printing::routes(),
        },
        HttpFunction {
            logical_id: "TicketPageFunction",
            routes: fn_ticket_page::routes(),
        },
        HttpFunction {
            logical_id: "InstallmentFunction",
            routes: fn_installment::routes(),
        },
    ]
}

/// What each function of the template is given besides the table (its `NEEDS`): the
/// template's environment of each names exactly these resources (template_checks.rs).
pub fn function_needs() -> Vec<(&'static str, &'static [Resource])> {
    vec![
        ("ErrorCodesFunction", &[]),
        ("AuthorizerFunction", fn_authorizer::NEEDS),
        ("AuthFunction", fn_auth::NEEDS),
        ("OperatorFunction", fn_operator::NEEDS),
        ("AccountsFunction", fn_accounts::NEEDS),
        ("BranchesFunction", fn_branches::NEEDS),
        ("MerchantFunction", fn_merchant::NEEDS),
        ("StoresFunction", fn_stores::NEEDS),
        ("ProductsFunction", fn_products::NEEDS),
        ("OrdersFunction", fn_orders::NEEDS),
        ("IssuanceFunction", fn_issuance::NEEDS),
        ("RedeemFunction", fn_redeem::NEEDS),
        ("ReturnFunction", fn_return::NEEDS),
        ("BatchIssueFunction", fn_batch_issue::NEEDS),
        ("ReportsFunction", fn_reports::NEEDS),
        ("IssuedOrdersFunction", fn_issued_orders::NEEDS),
        ("PaperPrintingFunction", fn_paper_printing::NEEDS),
        ("TicketPageFunction", fn_ticket_page::NEEDS),
        ("InstallmentFunction", fn_installment::NEEDS),
        ("ReportExportFunction", fn_report_export::NEEDS),
        ("DailyJobsFunction", fn_daily_jobs::NEEDS),
        // The monthly close and the notify consumer build their own clients (the table;
        // SES and SNS), from no resource variable.
        ("BillingCloseFunction", &[]),
        ("NotifyFunction", &[]),
        ("PublishFunction", fn_publish::NEEDS),
        ("CallbacksFunction", fn_callbacks::NEEDS),
    ]
}

/// What queue consumers are built from locally.
#[derive(Clone)]
pub struct HandlerContext {
    pub services: Services,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    pub mail_from: String,
}

/// Queue consumers by function logical id, called as Lambda's SQS integration calls them.
pub fn queue_handlers(context: &HandlerContext) -> Vec<(&'static str, QueueHandler)> {
    let notifier = fn_notify::Notifier {
        table: context.services.table.clone(),
        ses: context.ses.clone(),
        sns: context.sns.clone(),
        mail_from: context.mail_from.clone(),
    };
    let notify: QueueHandler = Arc::new(move |event: SqsEvent| {
        let notifier = notifier.clone();
        Box::pin(async move { Ok(notifier.handle(event).await) })
    });
    let issuer = fn_batch_issue::BatchIssuer::new(&context.services);
    let batch_issue: QueueHandler = Arc::new(move |event: SqsEvent| {
        let issuer = issuer.clone();
        Box::pin(async move {
            let issuer = issuer.map_err(|e| BoxError::from(e.to_string()))?;
            Ok(issuer.handle(event).await)
        })
    });
    let exporter = fn_report_export::Exporter::new(&context.services);
    let report_export: QueueHandler = Arc::new(move |event: SqsEvent| {
        let exporter = exporter.clone();
        Box::pin(async move {
            let exporter = exporter.map_err(|e| BoxError::from(e.to_string()))?;
            Ok(exporter.handle(event, None).await)
        })
    });
    let jobs = fn_daily_jobs::DailyJobs::new(&context.services);
    let continuations: QueueHandler = Arc::new(move |event: SqsEvent| {
        let jobs = jobs.clone();
        Box::pin(async move {
            let jobs = jobs.map_err(|e| BoxError::from(e.to_string()))?;
            Ok(jobs
                .handle_continuations(event, fn_daily_jobs::Budget::default())
                .await)
        })
    });
    let sender = fn_callbacks::Sender::new(&context.services);
    let callbacks: QueueHandler = Arc::new(move |event: SqsEvent| {
        let sender = sender.clone();
        Box::pin(async move {
            let sender = sender.map_err(|e| BoxError::from(e.to_string()))?;
            Ok(sender.handle(event).await)
        })
    });
    vec![
        ("CallbacksFunction", callbacks),
        ("NotifyFunction", notify),
        ("BatchIssueFunction", batch_issue),
        ("ReportExportFunction", report_export),
        ("DailyJobsFunction", continuations),
    ]
}

/// Stream consumers by function logical id, called as Lambda's DynamoDB stream event source
/// calls them (the event and the batch response as JSON).
pub fn stream_handlers(
    context: &HandlerContext,
) -> Result<Vec<(&'static str, StreamHandler)>, String> {
    let publisher = fn_publish::Publisher::new(&context.services).map_err(|e| e.to_string())?;
    Ok(vec![("PublishFunction", publisher_handler(publisher))])
}

/// A publisher as a stream handler (tests build one over a failing queue to fault it).
pub fn publisher_handler(publisher: fn_publish::Publisher) -> StreamHandler {
    Arc::new(move |event: serde_json::Value| {
        let publisher = publisher.clone();
        Box::pin(async move {
            let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(event)?;
            Ok(serde_json::to_value(publisher.handle(event).await)?)
        })
    })
}

/// The queue consumer of one function, by logical id.
pub fn queue_handler(context: &HandlerContext, logical_id: &str) -> Option<QueueHandler> {
    queue_handlers(context)
        .into_iter()
        .find(|(id, _)| *id == logical_id)
        .map(|(_, handler)| handler)
}

/// Scheduled functions by logical id, called with the schedule's input as EventBridge
/// Scheduler calls them.
pub fn scheduled_handlers(services: &Services) -> Vec<(&'static str, ScheduledHandler)> {
    let jobs = fn_daily_jobs::DailyJobs::new(services);
    let daily: ScheduledHandler = Arc::new(move |input: serde_json::Value| {
        let jobs = jobs.clone();
        Box::pin(async move {
            let jobs = jobs.map_err(|e| BoxError::from(e.to_string()))?;
            jobs.run(input, fn_daily_jobs::Budget::default())
                .await
                .map(|_| ())
                .map_err(|e| BoxError::from(e.to_string()))
        })
    });
    let close = fn_billing_close::BillingClose {
        table: services.table.clone(),
        clock: services.clock.clone(),
    };
    let monthly: ScheduledHandler = Arc::new(move |input: serde_json::Value| {
        let close = close.clone();
        Box::pin(async move {
            close
                .run(input)
                .await
                .map(|_| ())
                .map_err(|e| BoxError::from(e.to_string()))
        })
    });
    vec![
        ("DailyJobsFunction", daily),
        ("BillingCloseFunction", monthly),
    ]
}
