//! The daily ticket steps (§6): on a fixed clock walked across the cut-offs, every due
//! ticket lapses or goes to the bank once, through the change engine with its history and
//! events; a second run changes nothing; a run stopped halfway, or whose continuation is
//! lost, is finished by the next run; the run is recorded for the operator.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::json;
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT};
use tessera_domain::calendar;
use tessera_domain::clock::Clock;
use tessera_domain::tickets::TicketStatus as S;
use tessera_platform::store::jobs::JobRunStatus;
use tessera_platform::store::tickets::Ticket;
use tessera_tests::{json_request, seeded, IssueRow, Seeded};

struct World {
    base: Seeded,
    goods: Vec<Ticket>,
    gift: Vec<Ticket>,
}

tessera_tests::deref_to_seeded!(World);

/// Taipei wall-clock time on a day of December 2026.
fn taipei(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    calendar::taipei_instant(
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
    )
}

/// `goods` goods vouchers (30-day escrow) and `gift` one-day gift vouchers of the demo
/// parent, issued on the tests' start (30 Nov 2026, 10:00 Taipei).
async fn world(goods: u32, gift: u32) -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut products = Vec::new();
    for (name, kind, term, face) in [
        ("拿鐵提貨券", "goods_voucher", 30, 120),
        ("一日禮券", "gift_voucher", 1, 50),
    ] {
        let body = json!({"name": name, "kind": kind, "term_days": term, "face_value": face});
        let (status, product) = base
            .call(json_request("POST", "/products", Some(&admin), body))
            .await;
        assert_eq!(status, 201, "{product}");
        products.push(product["product_id"].as_str().unwrap().to_owned());
    }
    base.record_order(
        &admin,
        "DJORDER",
        &products[0],
        120 * u64::from(goods),
        goods,
    )
    .await;
    let mut issued = base
        .issue(
            &admin,
            PARENT,
            "paper_by_merchant",
            &[
                IssueRow::new("DJ0", &products[0], goods).paid_by("DJORDER"),
                IssueRow::new("DJ1", &products[1], gift),
            ],
        )
        .await;
    let gift = issued.pop().unwrap();
    let goods = issued.pop().unwrap();
    World { base, goods, gift }
}

impl World {
    fn jobs(&self) -> fn_daily_jobs::DailyJobs {
        fn_daily_jobs::DailyJobs::new(&self.services).expect("the jobs queue is configured")
    }

    /// The scheduled run, as the schedule at 01:00 sends it, within `budget`.
    async fn run_steps(&self, budget: fn_daily_jobs::Budget) -> fn_daily_jobs::Summary {
        self.jobs()
            .run(json!({"job": "ticket_steps"}), budget)
            .await
            .expect("the job runs")
    }

    async fn act(&self, uri: &str, ticket: &Ticket, reason: Option<&str>) {
        let mut body = json!({"code": ticket.redemption_code});
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        // Signed in afresh: the tests move the clock past a session's eight hours.
        let admin = self.token(PARENT, "admin", ADMIN_PASSWORD).await;
        let mut request = json_request("POST", uri, Some(&admin), body);
        request.headers_mut().insert(
            "idempotency-key",
            uuid::Uuid::new_v4().simple().to_string().parse().unwrap(),
        );
        let (status, answer) = self.call(request).await;
        assert_eq!(status, 200, "{uri}: {answer}");
    }

    async fn statuses(&self, tickets: &[Ticket]) -> Vec<S> {
        let mut statuses = Vec::new();
        for ticket in tickets {
            let stored = self.services.table.get_ticket(&ticket.ticket_no).await;
            statuses.push(stored.unwrap().unwrap().status);
        }
        statuses
    }

    async fn actions(&self, ticket: &Ticket) -> Vec<String> {
        let entries = self
            .services
            .table
            .ticket_history(&ticket.ticket_no)
            .await
            .unwrap();
        entries.into_iter().map(|e| e.action).collect()
    }
}

#[tokio::test]
async fn the_cut_offs_and_lapses_take_each_due_step_once() {
    let w = world(3, 2).await;
    let (goods, gift) = (&w.goods, &w.gift);
    // 30 Nov: goods[0] redeemed, goods[1] returned (issued the same day: the bank hears on
    // 2 Dec), goods[2] left unused; gift[0] redeemed, gift[1] left unused.
    w.clock.set(taipei(1, 0, 0) - Duration::hours(10));
    w.act("/redemptions", &goods[0], None).await;
    w.act("/returns", &goods[1], Some("顧客退貨")).await;
    w.act("/redemptions", &gift[0], None).await;
    // 1 Dec 00:30: nothing is due before the cut-off (the one-day gift voucher is valid
    // through 1 Dec).
    w.clock.set(taipei(1, 0, 30));
    let first = w.run_steps(fn_daily_jobs::Budget::default()).await;
    assert_eq!(first.tickets_stepped, 0, "{first:?}");
    assert_eq!(w.statuses(gift).await, [S::Used, S::Unused]);

    // 1 Dec 01:05: the redemption goes to the bank; the return waits for 2 Dec.
    w.clock.set(taipei(1, 1, 5));
    let cut_off = w.run_steps(fn_daily_jobs::Budget::default()).await;
    assert_eq!(cut_off.tickets_stepped, 1, "{cut_off:?}");
    assert_eq!(
        w.statuses(goods).await,
        [S::Redeeming, S::PendingReturn, S::Unused]
    );
    // The same run again (a Scheduler retry): nothing more.
    let again = w.run_steps(fn_daily_jobs::Budget::default()).await;
    assert_eq!(again.tickets_stepped, 0, "{again:?}");

    // A person can no longer change a ticket the bank has.
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut request = json_request(
        "POST",
        "/redemptions/cancel",
        Some(&admin),
        json!({"code": goods[0].redemption_code, "reason": "太晚了"}),
    );
    request
        .headers_mut()
        .insert("idempotency-key", "late-cancel-1".parse().unwrap());
    let (status, problem) = w.call(request).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("TICKET_WITH_BANK")),
        "{problem}"
    );

    // 2 Dec 01:00 and 3 Dec 01:00: settled, the return sent then refunded, and the gift
    // voucher lapsed at midnight.
    w.clock.set(taipei(2, 1, 0));
    assert_eq!(
        w.run_steps(fn_daily_jobs::Budget::default())
            .await
            .tickets_stepped,
        3
    );
    assert_eq!(
        w.statuses(goods).await,
        [S::Redeemed, S::Returning, S::Unused]
    );
    w.clock.set(taipei(3, 1, 0));
    assert_eq!(
        w.run_steps(fn_daily_jobs::Budget::default())
            .await
            .tickets_stepped,
        1
    );
    assert_eq!(
        w.statuses(goods).await,
        [S::Redeemed, S::Returned, S::Unused]
    );
    assert_eq!(
        w.statuses(gift).await,
        [S::Used, S::Expired],
        "a used gift voucher stays"
    );

    // One history entry per step, by the system, none twice.
    assert_eq!(
        w.actions(&goods[0]).await,
        [
            "issued",
            "redeem",
            "send_redemption_to_bank",
            "bank_settled_redemption"
        ]
    );
    assert_eq!(
        w.actions(&goods[1]).await,
        [
            "issued",
            "return",
            "send_return_to_bank",
            "bank_settled_return"
        ]
    );
    assert_eq!(w.actions(&gift[1]).await, ["issued", "gift_expiry"]);
    // The steps' events reach the outbox's consumers.
    w.publish().await;

    let run = w
        .services
        .table
        .get_job_run(
            "ticket_steps",
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        )
        .await
        .unwrap()
        .expect("the run is recorded");
    assert_eq!(
        (run.status, run.done, run.invocations),
        (JobRunStatus::Finished, 1, 1)
    );
    let runs = w
        .services
        .table
        .latest_job_runs("ticket_steps", 10)
        .await
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.day.to_string()).collect::<Vec<_>>(),
        ["2026-12-03", "2026-12-02", "2026-12-01"],
        "newest first, one per day"
    );
    assert_eq!(runs[2].invocations, 3, "1 Dec ran three times");
}

#[tokio::test]
async fn a_run_out_of_budget_continues_itself_and_a_lost_continuation_is_made_good_by_the_next_run()
{
    // 45 goods vouchers: three transactions of at most 20.
    let w = world(45, 1).await;
    let escrow_over = w.goods[0].term_ends_on + Duration::days(1);
    w.clock.set(calendar::taipei_instant(
        escrow_over,
        NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
    ));
    let day = calendar::taipei_date(w.clock.now());
    let one_group = fn_daily_jobs::Budget {
        deadline: None,
        max_groups: Some(1),
    };

    // Out of budget after one transaction (of one worklist shard): the rest is queued as
    // a continuation.
    let first = w.run_steps(one_group).await;
    assert!(first.continued, "{first:?}");
    assert!((1..=20).contains(&first.tickets_stepped), "{first:?}");
    let run = w
        .services
        .table
        .get_job_run("ticket_steps", day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.done),
        (JobRunStatus::Running, first.tickets_stepped as u64)
    );
    // The continuation runs on the jobs queue, as Lambda's SQS integration calls it.
    assert_eq!(w.drain("JobsQueue", "DailyJobsFunction").await, 1);
    let statuses = w.statuses(&w.goods).await;
    assert!(
        statuses.iter().all(|s| *s == S::UnusedEscrowExpired),
        "{statuses:?}"
    );
    let run = w
        .services
        .table
        .get_job_run("ticket_steps", day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.done, run.invocations),
        (JobRunStatus::Finished, 46, 2),
        "45 goods and the gift voucher"
    );

    // Stopped halfway with its continuation lost: the next run (Scheduler's retry) resumes
    // where it stopped, and no ticket steps twice.
    let w = world(45, 1).await;
    w.clock.set(calendar::taipei_instant(
        escrow_over,
        NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
    ));
    let stopped = w.run_steps(one_group).await;
    assert!(
        stopped.continued && stopped.tickets_stepped > 0,
        "{stopped:?}"
    );
    let queue = &w.stack.provisioned.queue_urls["JobsQueue"];
    w.stack
        .aws
        .sqs
        .purge_queue()
        .queue_url(queue)
        .send()
        .await
        .unwrap();
    let resumed = w.run_steps(fn_daily_jobs::Budget::default()).await;
    assert_eq!(
        (resumed.tickets_stepped, resumed.continued),
        (46 - stopped.tickets_stepped, false)
    );
    for ticket in &w.goods {
        assert_eq!(w.actions(ticket).await, ["issued", "escrow_expiry"]);
    }
}

#[tokio::test]
async fn each_day_is_billed_at_its_own_rate_and_the_close_bills_the_days() {
    use rust_decimal::Decimal;
    use tessera_domain::merchant::{FeeBasis, FeeItem, FeeRate, RedemptionMode};
    use tessera_domain::values::MerchantId;

    let w = world(5, 1).await;
    let g = &w.goods;
    let parent = MerchantId::parse("m", PARENT).unwrap();
    let jobs = w.jobs();
    let fees = |at: DateTime<Utc>| {
        w.clock.set(at);
        let jobs = jobs.clone();
        async move {
            jobs.run(
                json!({"job": "daily_fees"}),
                fn_daily_jobs::Budget::default(),
            )
            .await
            .expect("the fee job runs")
        }
    };
    let fee_days = || async {
        let totals = w
            .services
            .table
            .daily_fee_totals(&parent, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
            .await
            .unwrap();
        let december = w
            .services
            .table
            .daily_fee_totals(&parent, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .await
            .unwrap();
        totals
            .into_iter()
            .chain(december)
            .filter(|t| t.item == FeeItem::ReturnOperation)
            .map(|t| (t.date.to_string(), t.amount))
            .collect::<Vec<_>>()
    };

    // 30 Nov, at the seeded NT$10 a return: g[0] returned; g[1] returned and cancelled the
    // same day (drops out); the gift voucher returned (no fee: gift vouchers bear none).
    w.clock.set(taipei(1, 0, 0) - Duration::hours(10));
    w.act("/returns", &g[0], Some("顧客退貨")).await;
    w.act("/returns", &g[1], Some("顧客退貨")).await;
    w.act("/returns/cancel", &g[1], Some("誤退")).await;
    w.act("/returns", &w.gift[0], Some("顧客退貨")).await;
    // 1 Dec: the rate becomes 2.5 % of face value at 13:00; g[2] is returned at 09:00 and
    // g[3] at 15:00, both billed at the day's latest rate (2.5 % of NT$120 = 3 each).
    let change = FeeRate {
        mode: RedemptionMode::RedeemAfterUse,
        item: FeeItem::ReturnOperation,
        basis: FeeBasis::Percent,
        amount: Decimal::new(25, 1),
        effective_from: taipei(1, 13, 0),
    };
    w.services.table.put_rate(&parent, &change).await.unwrap();

    // 1 Dec 00:05: 30 Nov is billed at NT$10, once however often the job runs.
    let first = fees(taipei(1, 0, 5)).await;
    assert_eq!(first.fee_totals_written, 1, "{first:?}");
    fees(taipei(1, 0, 7)).await;
    assert_eq!(
        fee_days().await,
        [("2026-11-30".to_owned(), Decimal::new(10, 0))]
    );

    w.clock.set(taipei(1, 9, 0));
    w.act("/returns", &g[2], Some("顧客退貨")).await;
    w.clock.set(taipei(1, 15, 0));
    w.act("/returns", &g[3], Some("顧客退貨")).await;
    fees(taipei(2, 0, 5)).await;
    assert_eq!(
        fee_days().await,
        [
            ("2026-11-30".to_owned(), Decimal::new(10, 0)),
            ("2026-12-01".to_owned(), Decimal::new(6, 0)),
        ]
    );

    // The monthly close on 1 Dec at 02:00 billed November's day (run it now: the bill is
    // made of the daily totals, whenever it runs).
    let close = fn_billing_close::BillingClose {
        table: w.services.table.clone(),
        clock: w.clock.clone(),
    };
    close
        .run(json!({"job": "monthly_close"}))
        .await
        .expect("the close runs");
    w.clock.set(taipei(2, 2, 0) + Duration::days(30)); // 1 Jan 2027, 02:00
    close
        .run(json!({"job": "monthly_close"}))
        .await
        .expect("the close runs");
    let bills = w.services.table.list_bills(&parent).await.unwrap();
    let return_line = |month: &str| {
        bills
            .iter()
            .find(|b| b.month == month)
            .and_then(|b| b.lines.iter().find(|l| l.item == FeeItem::ReturnOperation))
            .map(|l| l.amount)
    };
    assert_eq!(return_line("2026-11"), Some(Decimal::new(10, 0)));
    assert_eq!(return_line("2026-12"), Some(Decimal::new(6, 0)));

    // The return-fee report lists the same returns, a page holding whole days.
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let report = |query: String| {
        let (w, admin) = (&w, &admin);
        async move {
            let uri = format!("/reports/return-fees?{query}");
            let (status, page) = w.call(tessera_tests::authed("GET", &uri, admin)).await;
            assert_eq!(status, 200, "{page}");
            page
        }
    };
    let first = report("from=2026-11-30&to=2026-12-01&limit=1".to_owned()).await;
    let cells = |page: &serde_json::Value| {
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ticket_no"].as_str().unwrap().to_owned(),
                    r["rate"].as_str().unwrap().to_owned(),
                    r["fee"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cells(&first),
        [(
            g[0].ticket_no.to_string(),
            "NT$10/張".to_owned(),
            "10".to_owned()
        )]
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = report(format!(
        "from=2026-11-30&to=2026-12-01&limit=1&cursor={cursor}"
    ))
    .await;
    let mut december = cells(&second);
    december.sort();
    let mut expected = vec![
        (
            g[2].ticket_no.to_string(),
            "2.5%".to_owned(),
            "3".to_owned(),
        ),
        (
            g[3].ticket_no.to_string(),
            "2.5%".to_owned(),
            "3".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(december, expected, "a day is never split across pages");
    assert!(second["next_cursor"].is_null());
    let cashier = w
        .token(PARENT, "cashier01", tessera_dev::seed::STAFF_PASSWORD)
        .await;
    let (status, problem) = w
        .call(tessera_tests::authed(
            "GET",
            "/reports/return-fees?from=2026-11-30&to=2026-12-01",
            &cashier,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    // A branch-bound account with the right sees its branch's returns: head office made
    // these.
    let bind = json!({"branch_code": "KHH01", "accounts": ["manager01"]});
    let (status, body) = w
        .call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
        .await;
    assert_eq!(status, 204, "{body}");
    let manager = w
        .token(PARENT, "manager01", tessera_dev::seed::STAFF_PASSWORD)
        .await;
    let (status, page) = w
        .call(tessera_tests::authed(
            "GET",
            "/reports/return-fees?from=2026-11-30&to=2026-12-01",
            &manager,
        ))
        .await;
    assert_eq!((status, &page["rows"]), (200, &json!([])), "{page}");
}

/// December 2026 on a fixed clock, with every schedule firing on its day: what the tickets
/// and the bill end up as is what a person computes by hand from what happened.
#[tokio::test]
async fn a_month_walked_with_its_schedules_matches_the_ledger() {
    use rust_decimal::Decimal;
    use tessera_domain::merchant::{FeeBasis, FeeItem, FeeRate, RedemptionMode};
    use tessera_domain::values::MerchantId;

    let base = seeded().await;
    // Everything happens in December: products and tickets on 1 Dec, 10:00.
    base.clock.set(taipei(1, 10, 0));
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut products = Vec::new();
    for (name, kind, term, face) in [
        ("拿鐵提貨券", "goods_voucher", 30, 120),
        ("一日禮券", "gift_voucher", 1, 50),
    ] {
        let body = json!({"name": name, "kind": kind, "term_days": term, "face_value": face});
        let (status, product) = base
            .call(json_request("POST", "/products", Some(&admin), body))
            .await;
        assert_eq!(status, 201, "{product}");
        products.push(product["product_id"].as_str().unwrap().to_owned());
    }
    base.record_order(&admin, "MONTHORD", &products[0], 720, 6)
        .await;
    let mut issued = base
        .issue(
            &admin,
            PARENT,
            "paper_by_merchant",
            &[
                IssueRow::new("MW0", &products[0], 6).paid_by("MONTHORD"),
                IssueRow::new("MW1", &products[1], 2),
            ],
        )
        .await;
    let gift = issued.pop().unwrap();
    let goods = issued.pop().unwrap();
    let w = World { base, goods, gift };
    let (g, gift) = (&w.goods, &w.gift);
    let parent = MerchantId::parse("m", PARENT).unwrap();

    // What people do, by day and Taipei time.
    let mut script: Vec<(DateTime<Utc>, &str, usize, &str)> = vec![
        (taipei(1, 11, 0), "/redemptions", 0, "g"),
        (taipei(1, 11, 5), "/redemptions", 1, "g"),
        (taipei(1, 12, 0), "/returns", 2, "g"),
        (taipei(1, 13, 0), "/returns", 3, "g"),
        (taipei(1, 13, 30), "/returns/cancel", 3, "g"),
        (taipei(1, 14, 0), "/redemptions", 0, "gift"),
        (taipei(5, 15, 0), "/returns", 4, "g"),
        (taipei(10, 9, 0), "/redemptions", 3, "g"),
    ];
    script.reverse();
    let rate_change = taipei(5, 13, 0);
    let mut rate_set = false;
    let jobs = w.jobs();
    let close = fn_billing_close::BillingClose {
        table: w.services.table.clone(),
        clock: w.clock.clone(),
    };
    // Day by day from 1 Dec to 1 Jan: the fee totals at 00:05, the steps at 01:00, the
    // close at 02:00 on the 1st, and people in between.
    let mut day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    while day <= last {
        let at = |h: u32, m: u32| {
            calendar::taipei_instant(day, NaiveTime::from_hms_opt(h, m, 0).unwrap())
        };
        for (time, job) in [(at(0, 5), "daily_fees"), (at(1, 0), "ticket_steps")] {
            w.clock.set(time);
            jobs.run(json!({"job": job}), fn_daily_jobs::Budget::default())
                .await
                .unwrap_or_else(|e| panic!("{job} on {day}: {e}"));
        }
        if day == last {
            w.clock.set(at(2, 0));
            close.run(json!({"job": "monthly_close"})).await.unwrap();
        }
        while script
            .last()
            .is_some_and(|(t, ..)| calendar::taipei_date(*t) == day)
        {
            let (time, uri, index, which) = script.pop().unwrap();
            if !rate_set && time > rate_change {
                w.services
                    .table
                    .put_rate(
                        &parent,
                        &FeeRate {
                            mode: RedemptionMode::RedeemAfterUse,
                            item: FeeItem::ReturnOperation,
                            basis: FeeBasis::Percent,
                            amount: Decimal::new(5, 0),
                            effective_from: rate_change,
                        },
                    )
                    .await
                    .unwrap();
                rate_set = true;
            }
            w.clock.set(time);
            let ticket = if which == "g" {
                &g[index]
            } else {
                &gift[index]
            };
            let reason = (uri != "/redemptions").then_some("依客戶要求");
            w.act(uri, ticket, reason).await;
        }
        day += Duration::days(1);
    }

    // The ledger, by hand.
    assert_eq!(
        w.statuses(g).await,
        [
            S::Redeemed,            // redeemed 1 Dec: to the bank 2 Dec, settled 3 Dec
            S::Redeemed,            // the same
            S::Returned,            // returned on its issue day: bank 3 Dec, refunded 4 Dec
            S::Redeemed,            // return cancelled the same day; redeemed 10 Dec
            S::Returned,            // returned 5 Dec: bank 6 Dec, refunded 7 Dec
            S::UnusedEscrowExpired, // escrow ran through 31 Dec: lapsed 1 Jan 00:00
        ]
    );
    assert_eq!(w.statuses(gift).await, [S::Used, S::Expired]);
    assert_eq!(
        w.actions(&g[3]).await,
        [
            "issued",
            "return",
            "cancel_return",
            "redeem",
            "send_redemption_to_bank",
            "bank_settled_redemption"
        ]
    );
    assert_eq!(w.actions(&g[5]).await, ["issued", "escrow_expiry"]);

    // Fees: 1 Dec one standing return at NT$10 (the cancelled one drops out); 5 Dec one at
    // the day's latest rate, 5 % of NT$120 = 6 (the rate changed at 13:00, the return came
    // at 15:00; an earlier return that day would have been billed at 5 % too).
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let days: Vec<(String, Decimal)> = w
        .services
        .table
        .daily_fee_totals(&parent, december)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.item == FeeItem::ReturnOperation)
        .map(|t| (t.date.to_string(), t.amount))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-12-01".to_owned(), Decimal::new(10, 0)),
            ("2026-12-05".to_owned(), Decimal::new(6, 0)),
        ]
    );
    let bill = w
        .services
        .table
        .list_bills(&parent)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.month == "2026-12")
        .expect("December is billed on 1 Jan");
    let line = |item: FeeItem| {
        bill.lines
            .iter()
            .find(|l| l.item == item)
            .map_or(Decimal::ZERO, |l| l.amount)
    };
    assert_eq!(line(FeeItem::ReturnOperation), Decimal::new(16, 0));
    assert_eq!(line(FeeItem::Sms), Decimal::ZERO, "paper tickets: no SMS");
    assert_eq!((bill.total, bill.paid), (Decimal::new(16, 0), false));
}

#[tokio::test]
async fn the_fee_totals_continue_merchant_after_merchant_when_out_of_budget() {
    use rust_decimal::Decimal;
    use tessera_dev::seed::{CHILD, PARTNER};
    use tessera_domain::merchant::FeeItem;
    use tessera_domain::values::MerchantId;

    let w = seeded().await;
    // One SMS sent by each demo merchant on 30 Nov (the seeded rate: NT$1.2 an SMS).
    let merchants = [PARENT, CHILD, PARTNER];
    for (i, merchant) in merchants.iter().enumerate() {
        w.services
            .table
            .record_sms(&tessera_platform::store::notifications::SmsLogEntry {
                notification_id: format!("fee-sms-{i}"),
                merchant_id: (*merchant).to_owned(),
                at: taipei(1, 0, 0) - Duration::hours(3),
                to: "0912345678".to_owned(),
                buyer_name: "王小明".to_owned(),
                body: "您的票券".to_owned(),
                purpose: "issue".to_owned(),
            })
            .await
            .unwrap();
    }
    w.clock.set(taipei(1, 0, 5));
    let jobs = fn_daily_jobs::DailyJobs::new(&w.services).unwrap();
    let first = jobs
        .run(
            json!({"job": "daily_fees"}),
            fn_daily_jobs::Budget {
                deadline: None,
                max_groups: Some(1),
            },
        )
        .await
        .unwrap();
    assert!(first.continued, "{first:?}");
    assert_eq!(
        first.resume_after.as_ref().map(|m| m.as_str()),
        Some(PARENT)
    );
    assert_eq!(w.drain("JobsQueue", "DailyJobsFunction").await, 1);
    let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    for merchant in merchants {
        let totals = w
            .services
            .table
            .daily_fee_totals(&MerchantId::parse("m", merchant).unwrap(), november)
            .await
            .unwrap();
        assert_eq!(
            totals
                .iter()
                .filter(|t| t.item == FeeItem::Sms)
                .map(|t| t.amount)
                .collect::<Vec<_>>(),
            [Decimal::new(1, 0)],
            "{merchant}: NT$1.2 rounds to 1"
        );
    }
    let run = w
        .services
        .table
        .get_job_run("daily_fees", NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.status, run.invocations), (JobRunStatus::Finished, 2));
}

/// 21:00 (§7-3 D): the tickets printed more than once since 21:00 the day before are
/// mailed to the billing contact, once however often the job runs; what the platform
/// printed is billed as paper printing by the next day's fee totals.
#[tokio::test]
async fn reprints_are_mailed_at_21_00_once_and_the_platforms_prints_are_billed() {
    use tessera_domain::merchant::{FeeBasis, FeeItem, FeeRate, RedemptionMode};
    use tessera_domain::values::MerchantId;
    let w = world(2, 1).await;
    let parent = MerchantId::parse("m", PARENT).unwrap();
    let billing = format!("billing-{}@demo.com.tw", uuid::Uuid::new_v4().simple());
    let mut settings = w.services.table.get_settings(&parent).await.unwrap();
    settings.contacts.billing.email = billing.clone();
    let (write, _) =
        tessera_platform::store::settings::settings_write(&parent, &mut settings).unwrap();
    w.services
        .table
        .transact(vec![write], tessera_domain::ErrorCode::ConcurrentChange)
        .await
        .unwrap();
    let print = |token: &str, key: &str, tickets: Vec<&Ticket>| {
        let mut request = json_request(
            "POST",
            "/paper-tickets/print",
            Some(token),
            json!({"ticket_nos": tickets.iter().map(|t| t.ticket_no.to_string()).collect::<Vec<_>>()}),
        );
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
    };
    // 30 Nov 22:00 (after the 30 Nov reminder): g[0] printed; 1 Dec 11:00: g[0] again and
    // g[1] once. The reminder of 1 Dec lists g[0] (printed twice), not g[1].
    let g = &w.goods;
    // (Signed in again each time: a session lasts a working day.)
    w.clock.set(taipei(1, 0, 0) - Duration::hours(2));
    let evening = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(w.call(print(&evening, "rp-1", vec![&g[0]])).await.0, 200);
    w.clock.set(taipei(1, 11, 0));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.call(print(&admin, "rp-2", vec![&g[0], &g[1]])).await.0,
        200
    );
    w.clock.set(taipei(1, 21, 0));
    let jobs = w.jobs();
    for _ in 0..2 {
        let summary = jobs
            .run(
                json!({"job": "reprint_reminder"}),
                fn_daily_jobs::Budget::default(),
            )
            .await
            .unwrap();
        assert_eq!(summary.reprint_reminders, 1, "{summary:?}");
    }
    w.deliver_notifications().await;
    let mails = tessera_tests::mail_to(&billing).await;
    assert_eq!(
        mails.len(),
        1,
        "one mail however often the job runs: {mails:?}"
    );
    assert!(mails[0].0.contains("多次列印"));
    assert!(
        mails[0].1.contains(&format!("{}\t2", g[0].ticket_no)),
        "{}",
        mails[0].1
    );
    assert!(!mails[0].1.contains(g[1].ticket_no.as_str()));

    // The platform prints a ticket on 1 Dec at NT$5 a print: billed on 2 Dec 00:05.
    w.clock.set(taipei(1, 12, 0));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&admin),
            json!({"name": "印製禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 50}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let platform = w
        .issue(
            &admin,
            PARENT,
            "paper_by_platform",
            &[IssueRow::new(
                "DJP1",
                product["product_id"].as_str().unwrap(),
                1,
            )],
        )
        .await
        .remove(0);
    let rate = FeeRate {
        mode: RedemptionMode::RedeemAfterUse,
        item: FeeItem::PaperPrinting,
        basis: FeeBasis::PerUnit,
        amount: rust_decimal::Decimal::new(5, 0),
        effective_from: taipei(1, 0, 0),
    };
    w.services.table.put_rate(&parent, &rate).await.unwrap();
    let ops = w.operator_token(tessera_dev::seed::OPERATOR).await;
    w.clock.set(taipei(1, 12, 0));
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/operator/print-run/status",
            Some(&ops),
            json!({"ticket_nos": [platform[0].ticket_no], "status": "printed"}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    w.clock.set(taipei(2, 0, 5));
    jobs.run(
        json!({"job": "daily_fees"}),
        fn_daily_jobs::Budget::default(),
    )
    .await
    .unwrap();
    let printing: Vec<_> = w
        .services
        .table
        .daily_fee_totals(&parent, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.item == FeeItem::PaperPrinting)
        .map(|t| (t.date.to_string(), t.amount))
        .collect();
    assert_eq!(
        printing,
        [("2026-12-01".to_owned(), rust_decimal::Decimal::new(5, 0))]
    );
}

/// The serial processing fee (序號處理費, §6-2) of a redeem-after-use merchant: every ticket
/// a day issued at the day's rate (the demo's 0.5% of face value), counted from the
/// circulation counters the outbox keeps.
#[tokio::test]
async fn the_tickets_a_day_issued_bear_the_serial_processing_fee() {
    use tessera_domain::merchant::FeeItem;
    use tessera_domain::values::MerchantId;
    let w = world(10, 1).await;
    w.publish().await;
    w.clock.set(taipei(1, 0, 5));
    w.jobs()
        .run(
            json!({"job": "daily_fees"}),
            fn_daily_jobs::Budget::default(),
        )
        .await
        .unwrap();
    let parent = MerchantId::parse("m", PARENT).unwrap();
    let serial: Vec<_> = w
        .services
        .table
        .daily_fee_totals(&parent, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.item == FeeItem::SerialProcessing)
        .map(|t| (t.date.to_string(), t.amount))
        .collect();
    // Ten NT$120 vouchers and a NT$50 gift voucher: 0.5% of NT$1,250 is 6.25, rounded.
    assert_eq!(
        serial,
        [("2026-11-30".to_owned(), rust_decimal::Decimal::new(6, 0))]
    );
}
