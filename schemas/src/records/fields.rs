//! The field codec the records share: [`Field`] says how one Rust field type is written and
//! read in Avro binary and taken from a resolved Avro value, and [`message_codec!`] builds a
//! record's [`crate::Message`] constants, `schema`, `encode_datum`, `decode_datum`,
//! `decode_datum_into` and `from_avro_value` from one list of its fields in schema order. A
//! record thus lists its fields once, and the encoder, both decoders and the resolution path
//! cannot disagree on their order.
//!
//! The generated code is what each record spelled out by hand before (one `put_*` or
//! `Reader` call per field, strings decoded in place by `decode_datum_into`): the hot path
//! costs the same.

use crate::Result;
use crate::codec::{
    Reader, put_bytes, put_double, put_int, put_long, put_opt_double, put_opt_str, put_str,
    put_str_array,
};
use crate::value::Fields;

/// One field type of a record: its Avro binary encoding and decoding, and its value in a
/// record resolved by `apache-avro`.
pub(crate) trait Field: Sized {
    /// Appends the field's datum to `out`.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads the field's datum; `name` names it in errors.
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self>;
    /// Reads the field's datum over `self`, keeping its allocation where the type has one.
    fn read_into(&mut self, r: &mut Reader<'_>, name: &'static str) -> Result<()> {
        *self = Self::read(r, name)?;
        Ok(())
    }
    /// Takes the field `name` from a resolved record.
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self>;
}

impl Field for String {
    fn put(&self, out: &mut Vec<u8>) {
        put_str(out, self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.string(name)
    }
    fn read_into(&mut self, r: &mut Reader<'_>, name: &'static str) -> Result<()> {
        r.string_into(name, self)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.string(name)
    }
}

impl Field for Option<String> {
    fn put(&self, out: &mut Vec<u8>) {
        put_opt_str(out, self.as_deref());
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.opt_string(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.opt_string(name)
    }
}

impl Field for Vec<String> {
    fn put(&self, out: &mut Vec<u8>) {
        put_str_array(out, self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.str_array(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.string_array(name)
    }
}

impl Field for Vec<u8> {
    fn put(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.bytes(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.bytes(name)
    }
}

impl Field for f64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_double(out, *self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.double(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.double(name)
    }
}

impl Field for Option<f64> {
    fn put(&self, out: &mut Vec<u8>) {
        put_opt_double(out, *self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.opt_double(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.opt_double(name)
    }
}

impl Field for i32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, *self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.int(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.int(name)
    }
}

/// A plain `long`. Timestamps are `long`s too on the wire; in a resolved record they may be
/// `timestamp-millis`, which `message_codec!` takes with `as timestamp`.
impl Field for i64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_long(out, *self);
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.long(name)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        f.long(name)
    }
}

/// The body of a [`crate::Message`] implementation but for `validate_at`: the schema id, full
/// name, topic and embedded schema, and the datum methods built from the record's fields in
/// schema order, `field: "avro_name"`, with `as timestamp` on a `timestamp-millis` field.
/// `record` names the record in resolution errors.
macro_rules! message_codec {
    (@value $f:ident, $name:literal) => {
        $crate::records::fields::Field::from_value(&mut $f, $name)?
    };
    (@value $f:ident, $name:literal, timestamp) => {
        $f.timestamp_ms($name)?
    };
    (
        id: $id:literal, name: $full_name:literal, topic: $topic:path, schema: $schema:ident,
        record $what:literal { $($field:ident: $name:literal $(as $kind:ident)?),* $(,)? }
    ) => {
        const SCHEMA_ID: u32 = $id;
        const FULL_NAME: &'static str = $full_name;
        const TOPIC: &'static str = $topic;

        fn schema() -> &'static apache_avro::Schema {
            &$schema
        }

        fn encode_datum(&self, out: &mut Vec<u8>) {
            $( $crate::records::fields::Field::put(&self.$field, out); )*
        }

        fn decode_datum(bytes: &[u8]) -> $crate::Result<Self> {
            let mut r = $crate::codec::Reader::new(bytes);
            let msg = Self {
                $( $field: $crate::records::fields::Field::read(&mut r, $name)?, )*
            };
            r.finish()?;
            Ok(msg)
        }

        fn decode_datum_into(&mut self, bytes: &[u8]) -> $crate::Result<()> {
            let mut r = $crate::codec::Reader::new(bytes);
            // Every field is named here, so none can be left stale.
            let Self { $($field),* } = self;
            $( $crate::records::fields::Field::read_into($field, &mut r, $name)?; )*
            r.finish()
        }

        fn from_avro_value(v: apache_avro::types::Value) -> $crate::Result<Self> {
            let mut f = $crate::value::Fields::new(v, $what)?;
            Ok(Self {
                $( $field: $crate::records::fields::message_codec!(@value f, $name $(, $kind)?), )*
            })
        }
    };
}
pub(crate) use message_codec;
