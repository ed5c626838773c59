//! The types of parameter values: each parses its text with the message a 400 gives after
//! the parameter's name, and documents itself (bounds and defaults included) for the OpenAPI
//! document. Fields of these types are marked `#[param(inline)]`: their schema is written in
//! place (bounds differ per endpoint), not referenced.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::parse_rfc3339;

/// A value read from a parameter's text.
trait FromParam: Sized {
    /// The value, or the message that follows the parameter's name in the 400.
    fn from_param(raw: &str) -> Result<Self, String>;
}

fn from_text<'de, D: Deserializer<'de>, T: FromParam>(d: D) -> Result<T, D::Error> {
    let raw = String::deserialize(d)?;
    T::from_param(&raw).map_err(serde::de::Error::custom)
}

/// `Deserialize` through [`FromParam`], and a schema built by `$schema`.
macro_rules! param_value {
    ($name:literal, [$($generics:tt)*] $t:ty, $schema:expr) => {
        impl<'de, $($generics)*> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_text(d)
            }
        }

        impl<$($generics)*> PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                let builder: ObjectBuilder = $schema;
                RefOr::T(Schema::Object(builder.build()))
            }
        }

        impl<$($generics)*> ToSchema for $t {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn integer(min: usize, max: usize, default: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
        .default(Some(default.into()))
}

/// A page size or count: an integer from 1 to `MAX`, `DEFAULT` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const DEFAULT: usize, const MAX: usize>(usize);

impl<const DEFAULT: usize, const MAX: usize> Limit<DEFAULT, MAX> {
    /// The value.
    pub fn get(self) -> usize {
        self.0
    }
}

impl<const DEFAULT: usize, const MAX: usize> Default for Limit<DEFAULT, MAX> {
    fn default() -> Self {
        Limit(DEFAULT)
    }
}

impl<const DEFAULT: usize, const MAX: usize> FromParam for Limit<DEFAULT, MAX> {
    fn from_param(raw: &str) -> Result<Self, String> {
        match raw.parse::<usize>() {
            Ok(n) if (1..=MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(format!("must be an integer from 1 to {MAX}, got `{raw}`")),
        }
    }
}

param_value!("Limit", [const DEFAULT: usize, const MAX: usize] Limit<DEFAULT, MAX>,
    integer(1, MAX, DEFAULT));

/// Items to skip: an integer from 0 to `MAX`, 0 when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset<const MAX: usize>(usize);

impl<const MAX: usize> Offset<MAX> {
    /// The value.
    pub fn get(self) -> usize {
        self.0
    }
}

impl<const MAX: usize> FromParam for Offset<MAX> {
    fn from_param(raw: &str) -> Result<Self, String> {
        match raw.parse::<usize>() {
            Ok(n) if n <= MAX => Ok(Offset(n)),
            _ => Err(format!("must be an integer from 0 to {MAX}, got `{raw}`")),
        }
    }
}

param_value!("Offset", [const MAX: usize] Offset<MAX>, integer(0, MAX, 0));

/// `true`/`false` (also `1`/`0`), false when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl FromParam for Flag {
    fn from_param(raw: &str) -> Result<Self, String> {
        match raw {
            "false" | "0" => Ok(Flag(false)),
            "true" | "1" => Ok(Flag(true)),
            _ => Err(format!("must be true or false, got `{raw}`")),
        }
    }
}

param_value!("Flag", [] Flag, ObjectBuilder::new()
    .schema_type(Type::Boolean)
    .default(Some(false.into())));

/// A time: RFC 3339 (`2024-05-01T12:00:00Z`) or milliseconds since the epoch, between 1970
/// and 2200 (anything else is a mistake, and this keeps arithmetic on times in range). Holds
/// nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// 2200-01-01T00:00:00Z in nanoseconds.
const YEAR_2200_NS: i64 = 7_258_118_400_000_000_000;

impl FromParam for Timestamp {
    fn from_param(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let ns = match raw.parse::<i64>() {
            Ok(ms) => ms.checked_mul(1_000_000),
            Err(_) => parse_rfc3339(raw),
        };
        match ns {
            Some(ns) if (0..=YEAR_2200_NS).contains(&ns) => Ok(Timestamp(ns)),
            Some(_) => Err(format!("must be between 1970 and 2200, got `{raw}`")),
            None => Err(format!(
                "must be an RFC 3339 time or epoch milliseconds, got `{raw}`"
            )),
        }
    }
}

param_value!("Timestamp", [] Timestamp, ObjectBuilder::new().schema_type(Type::String));

/// A coin id: CoinGecko ids are lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinId(pub String);

impl CoinId {
    /// The id written `raw`, or the message that follows the parameter's name.
    pub fn parse(raw: &str) -> Result<CoinId, String> {
        let valid = !raw.is_empty()
            && raw.len() <= 100
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if valid {
            Ok(CoinId(raw.to_string()))
        } else {
            Err(
                "must be a coin id such as `bitcoin` (lowercase letters, digits, dashes)"
                    .to_string(),
            )
        }
    }
}

impl FromParam for CoinId {
    fn from_param(raw: &str) -> Result<Self, String> {
        CoinId::parse(raw)
    }
}

param_value!("CoinId", [] CoinId, ObjectBuilder::new().schema_type(Type::String));

/// A comma-separated list of coin ids (deduplicated, order kept), at most `MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinIds<const MAX: usize>(pub Vec<String>);

impl<const MAX: usize> FromParam for CoinIds<MAX> {
    fn from_param(raw: &str) -> Result<Self, String> {
        let mut ids: Vec<String> = Vec::new();
        for part in raw.split(',') {
            let id = CoinId::parse(part.trim())?.0;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > MAX {
            return Err(format!("takes at most {MAX} ids"));
        }
        Ok(CoinIds(ids))
    }
}

param_value!("CoinIds", [const MAX: usize] CoinIds<MAX>,
    ObjectBuilder::new().schema_type(Type::String));

/// A source or feed name: short, of letters, digits, `.`, `_` and `-` (what the
/// configuration allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName(pub String);

impl FromParam for SourceName {
    fn from_param(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(SourceName(raw.to_string()))
        } else {
            Err("must be 1–64 letters, digits, '.', '_' or '-'".to_string())
        }
    }
}

param_value!("SourceName", [] SourceName, ObjectBuilder::new().schema_type(Type::String));
