//! The session-signing key lives in Secrets Manager (the local one here), is read at run
//! time, and rotates without signing anyone out: a token names the version that signed it.

use chrono::{TimeZone, Utc};
use tessera_domain::ErrorCode;
use tessera_platform::session::{sign, SessionClaims, SigningKeys};
use tessera_tests::TestStack;

fn claims() -> SessionClaims {
    SessionClaims {
        sid: "s1".into(),
        mid: "DEMO0001".into(),
        sub: "admin".into(),
        act: "DEMO0001".into(),
        br: None,
        op: false,
        iat: 1_800_000_000,
        exp: 1_800_003_600,
    }
}

#[tokio::test]
async fn a_rotation_keeps_tokens_of_the_previous_key_valid_and_drops_older_ones() {
    let stack = TestStack::provision().await;
    let secret = &stack.provisioned.secrets["SigningKeySecret"];
    let client = &stack.aws.secrets;
    let now = Utc
        .timestamp_opt(1_800_000_001, 0)
        .single()
        .expect("an instant");

    let before = SigningKeys::from_secret(client.clone(), secret)
        .await
        .expect("the key reads");
    let first = before.current().await.expect("a current key");
    let first_token = sign(&claims(), &first);

    let rotate = |value: &'static str| async move {
        client
            .put_secret_value()
            .secret_id(secret)
            .secret_string(value)
            .send()
            .await
            .expect("a new version")
    };
    rotate("second-signing-key-0123456789abcdef0123456789abcdef").await;
    // A function that starts after the rotation signs with the new version...
    let after = SigningKeys::from_secret(client.clone(), secret)
        .await
        .expect("the key reads");
    let second = after.current().await.expect("a current key");
    assert_ne!(second.kid(), first.kid());
    let second_token = sign(&claims(), &second);
    // ...and still accepts sessions signed with the previous one.
    assert_eq!(
        after.verify(&first_token, now).await.expect("still valid"),
        claims()
    );
    assert_eq!(
        after.verify(&second_token, now).await.expect("valid"),
        claims()
    );
    // A function that started before the rotation learns the new version from the token,
    // once its keys are older than the rate limit on re-reads.
    tokio::time::sleep(tessera_platform::session::UNKNOWN_KID_REFRESH).await;
    assert_eq!(
        before.verify(&second_token, now).await.expect("valid"),
        claims()
    );

    // Two rotations on, the first key is neither current nor previous: its tokens fail.
    rotate("third-signing-key-0123456789abcdef0123456789abcdef0").await;
    let later = SigningKeys::from_secret(client.clone(), secret)
        .await
        .expect("the key reads");
    assert_eq!(
        later.verify(&first_token, now).await.unwrap_err().code,
        ErrorCode::Unauthenticated
    );
    assert_eq!(
        later.verify(&second_token, now).await.expect("previous"),
        claims()
    );
}
