//! Typed values of Change fields. Each parses once, at the edge, and can then only
//! hold something valid: a repository URL, a git branch name, an image reference, an
//! http(s) URL.

mod branch;
mod http_url;
mod image;
mod name;
mod quantity;
mod repo;

pub use branch::BranchName;
pub use http_url::HttpUrl;
pub use image::ImageRef;
pub use name::{is_dns1123_label, ChangeName, MAX_DNS_LABEL};
pub use quantity::Quantity;
pub use repo::RepoUrl;

/// Why a value was refused: what was expected, and a fix when one is likely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub help: Option<String>,
}

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Invalid {
        Invalid { message: message.into(), help: None }
    }
    pub(crate) fn help(mut self, help: impl Into<String>) -> Invalid {
        self.help = Some(help.into());
        self
    }
}

/// An inline JSON Schema for a type the Change file writes as a string.
macro_rules! string_schema {
    ($ty:ident, $($schema:tt)+) => {
        impl schemars::JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($($schema)+)
            }
        }
    };
}
pub(crate) use string_schema;

/// Implements `Serialize` (as the original string) and an inline JSON Schema string
/// type with a description and a pattern for a validated newtype.
macro_rules! string_value {
    ($ty:ident, $pattern:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        $crate::change::values::string_schema!($ty, { "type": "string", "pattern": $pattern });

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_value;
