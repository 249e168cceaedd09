//! The text formats the API's identifiers and secrets follow, as OpenAPI schemas: one place
//! for each pattern the document states, beside the parsers in the domain crate that
//! enforce them. Fields name them with `#[schema(value_type = …)]`, so a generated client
//! or fuzzer sends only what the code accepts.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

macro_rules! text_format {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $description:expr) => {
        text_format!($(#[$doc])* $name, $pattern, $description, None, None);
    };
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $description:expr, $min:expr, $max:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some($pattern))
                        .min_length($min)
                        .max_length($max)
                        .description(Some($description))
                        .build(),
                ))
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

text_format!(
    /// A merchant ID (商店代號).
    MerchantIdText,
    "^[A-Za-z0-9]{4,20}$",
    "A merchant ID: 4 to 20 letters or digits."
);
text_format!(
    /// A login name: an admin's account, a sub-account or an operator.
    LoginNameText,
    "^[A-Za-z0-9._@-]{1,20}$",
    "An account: 1 to 20 letters, digits or . _ - @."
);
/// 6 to 20 letters and digits with at least one of each, as a pattern a generator can
/// follow (no lookaheads): a letter somewhere before a digit, or a digit before a letter.
macro_rules! letters_and_digits {
    () => {
        "^[A-Za-z0-9]*([A-Za-z][A-Za-z0-9]*[0-9]|[0-9][A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]*$"
    };
}

text_format!(
    /// A new sub-account's ID (§4-1).
    SubAccountIdText,
    letters_and_digits!(),
    "A sub-account ID: 6 to 20 letters and digits, with at least one of each.",
    Some(6),
    Some(20)
);
text_format!(
    /// A sub-account's password (§4-1); an admin's new password may be this too.
    SubAccountPasswordText,
    letters_and_digits!(),
    "A password of 6 to 20 letters and digits, with at least one of each.",
    Some(6),
    Some(20)
);
text_format!(
    /// An admin's password (§3-4): two kinds of letters, digits and symbols, in either order.
    AdminPasswordText,
    "^[!-~]*([A-Za-z][!-~]*[0-9]|[0-9][!-~]*[A-Za-z]|[A-Za-z][!-~]*[!-/:-@\\[-`{-~]|[!-/:-@\\[-`{-~][!-~]*[A-Za-z]|[0-9][!-~]*[!-/:-@\\[-`{-~]|[!-/:-@\\[-`{-~][!-~]*[0-9])[!-~]*$",
    "A password of 6 to 20 printable ASCII characters mixing at least two of letters, digits and symbols.",
    Some(6),
    Some(20)
);
text_format!(
    /// A branch code.
    BranchCodeText,
    "^[A-Za-z0-9_-]{1,20}$",
    "A branch code: 1 to 20 letters, digits, - or _."
);
text_format!(
    /// Email addresses, none or several separated by `;` (§3-2).
    EmailListText,
    "^((?=[^@;]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}(;(?=[^@;]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63})*)?$",
    "Email addresses separated by ;, or empty."
);
text_format!(
    /// One email address, or none.
    EmailOrEmptyText,
    "^((?=[^@;]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63})?$",
    "An email address, or empty."
);
text_format!(
    /// A customer-service link on the ticket page: ASCII, so that its limit of 200 bytes
    /// is 200 characters.
    HttpsLinkText,
    "^https://[\\x21-\\x7e]{1,192}$",
    "An https:// link of at most 200 characters."
);
