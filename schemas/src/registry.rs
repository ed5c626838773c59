//! Schema ids → writer schemas, and the slow path that reads data written with a writer schema
//! other than the embedded one (schema evolution through Avro resolution).
//!
//! `apache-avro` allocates a string's declared length before reading it and treats a truncated
//! string as null, so bytes are first walked by [`check_datum`] with the bounds-checked
//! [`Reader`]: only a structurally complete datum of exactly the input's length reaches
//! `apache_avro::from_avro_datum`.

use std::collections::HashMap;
use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::schema::{Name, NamesRef, Namespace, ResolvedSchema};
use apache_avro::types::Value;

use crate::codec::Reader;
use crate::error::{Error, Result};
use crate::{CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, MarketSentiment, Message};

/// Nesting limit for the structural check, so a recursive schema cannot overflow the stack.
const MAX_DEPTH: usize = 64;

static BUILTIN: LazyLock<Registry> = LazyLock::new(Registry::new);

/// Writer schemas by schema id. Starts with the embedded schemas (`CryptoPrice` v2 = 5 and its v1 = 1, news 2, sentiment 3, DLQ 4, trades 6); more
/// versions are added with [`Registry::register`] (tests, or a schema-registry client).
#[derive(Debug, Clone)]
pub struct Registry {
    entries: HashMap<u32, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    schema: Schema,
    full_name: String,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry holding the built-in schemas.
    pub fn new() -> Self {
        let mut reg = Self {
            entries: HashMap::new(),
        };
        reg.insert_builtin::<CryptoPrice>();
        reg.insert_builtin::<CryptoNews>();
        reg.insert_builtin::<MarketSentiment>();
        reg.insert_builtin::<DlqRecord>();
        reg.insert_builtin::<CryptoTrade>();
        // Older versions of the built-in records, still readable through resolution.
        reg.register(
            crate::records::PRICE_V1_SCHEMA_ID,
            crate::records::PRICE_V1_SCHEMA_JSON,
        )
        .expect("the embedded v1 price schema is a valid record");
        reg
    }

    /// The shared registry of built-in schemas that [`crate::decode`] uses.
    pub fn builtin() -> &'static Registry {
        &BUILTIN
    }

    fn insert_builtin<M: Message>(&mut self) {
        let entry = Entry {
            schema: M::schema().clone(),
            full_name: M::FULL_NAME.to_owned(),
        };
        self.entries.insert(M::SCHEMA_ID, entry);
    }

    /// Parses `schema_json` and registers it as writer schema `id`. The schema must be a named
    /// record; its full name decides which Rust type it is a version of.
    ///
    /// Errors with [`Error::DuplicateSchemaId`] if `id` is taken and [`Error::Avro`] if the
    /// JSON is not a valid record schema.
    pub fn register(&mut self, id: u32, schema_json: &str) -> Result<()> {
        if self.entries.contains_key(&id) {
            return Err(Error::DuplicateSchemaId(id));
        }
        let schema = Schema::parse_str(schema_json)?;
        let Schema::Record(record) = &schema else {
            return Err(Error::Avro(format!("schema {id} is not a record")));
        };
        let full_name = record.name.fullname(None);
        self.entries.insert(id, Entry { schema, full_name });
        Ok(())
    }

    /// The writer schema registered under `id`.
    pub fn get(&self, id: u32) -> Option<&Schema> {
        self.entries.get(&id).map(|e| &e.schema)
    }

    /// The record full name (e.g. `io.cryptoviz.CryptoPrice`) of schema `id`.
    pub fn full_name(&self, id: u32) -> Option<&str> {
        self.entries.get(&id).map(|e| e.full_name.as_str())
    }
}

/// Decodes `datum` written with `writer`, resolving it to `reader` if given.
pub(crate) fn read_resolved(
    writer: &Schema,
    datum: &[u8],
    reader: Option<&Schema>,
) -> Result<Value> {
    check_datum(writer, datum)?;
    let mut cursor = datum;
    let value = apache_avro::from_avro_datum(writer, &mut cursor, reader)?;
    match cursor.len() {
        0 => Ok(value),
        n => Err(Error::TrailingBytes(n)),
    }
}

/// Walks `datum` according to `schema` without building values: every length fits the input,
/// every union/enum index exists, strings are UTF-8, and nothing is left over.
fn check_datum(schema: &Schema, datum: &[u8]) -> Result<()> {
    let resolved = ResolvedSchema::try_from(schema)?;
    let mut r = Reader::new(datum);
    skip(schema, resolved.get_names(), &None, &mut r, 0)?;
    r.finish()
}

fn skip(
    schema: &Schema,
    names: &NamesRef<'_>,
    ns: &Namespace,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::Avro(format!("datum nested deeper than {MAX_DEPTH}")));
    }
    match schema {
        Schema::Null => {}
        Schema::Boolean => {
            if r.take(1, "boolean")?.first().is_some_and(|&b| b > 1) {
                return Err(Error::Value { what: "boolean" });
            }
        }
        Schema::Int | Schema::Date | Schema::TimeMillis => {
            r.int("int")?;
        }
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => {
            r.long("long")?;
        }
        Schema::Float => {
            r.take(4, "float")?;
        }
        Schema::Double => {
            r.take(8, "double")?;
        }
        Schema::Duration => {
            r.take(12, "duration")?;
        }
        Schema::String => {
            r.str_slice("string")?;
        }
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid => {
            r.bytes_slice("bytes")?;
        }
        Schema::Fixed(fixed) => {
            r.take(fixed.size, "fixed")?;
        }
        Schema::Decimal(decimal) => skip(&decimal.inner, names, ns, r, depth + 1)?,
        Schema::Enum(e) => {
            let index = r.int("enum")?;
            if usize::try_from(index).map_or(true, |i| i >= e.symbols.len()) {
                return Err(Error::BadUnionIndex {
                    what: "enum",
                    index: index.into(),
                });
            }
        }
        Schema::Union(union) => {
            let index = r.long("union")?;
            let variant = usize::try_from(index)
                .ok()
                .and_then(|i| union.variants().get(i))
                .ok_or(Error::BadUnionIndex {
                    what: "union",
                    index,
                })?;
            skip(variant, names, ns, r, depth + 1)?;
        }
        Schema::Array(array) => loop {
            let count = r.block_count("array")?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                skip(&array.items, names, ns, r, depth + 1)?;
            }
        },
        Schema::Map(map) => loop {
            let count = r.block_count("map")?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                r.str_slice("map key")?;
                skip(&map.types, names, ns, r, depth + 1)?;
            }
        },
        Schema::Record(record) => {
            let fq = record.name.fully_qualified_name(ns);
            for field in &record.fields {
                skip(&field.schema, names, &fq.namespace, r, depth + 1)?;
            }
        }
        Schema::Ref { name } => {
            let fq: Name = name.fully_qualified_name(ns);
            let target = names
                .get(&fq)
                .ok_or_else(|| Error::Avro(format!("unresolved schema reference {fq}")))?;
            skip(target, names, &fq.namespace, r, depth + 1)?;
        }
    }
    Ok(())
}
