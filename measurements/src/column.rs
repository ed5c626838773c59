//! The declaration types every measurement is written with: a column's [`Kind`] and
//! nullability ([`FieldDef`]), the [`Columns`] trait that turns a Rust value into Arrow columns
//! and back, and the macros that declare a row ([`columns!`](crate::columns),
//! [`closed_set!`](crate::closed_set)).
//!
//! A field's nullability is its Rust type's: `f64` is a non-null `Float64`, `Option<f64>` a
//! nullable one. The few stored columns that are declared nullable but always written have a
//! type saying so ([`crate::news::CoinList`]).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, TimestampNanosecondType,
};
use datafusion::arrow::record_batch::RecordBatch;

use crate::time::{Nanos, Time};
use crate::{Error, Result};

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Timestamp(Nanosecond, "UTC")`: the `time` column.
    Time,
    /// `Utf8`: tags, text fields and closed sets.
    Text,
    /// `Float64`.
    Float,
    /// `Int64` (counts, epoch milliseconds or nanoseconds).
    Int,
}

impl Kind {
    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Time => cryptoviz_store::time_data_type(),
            Kind::Text => DataType::Utf8,
            Kind::Float => DataType::Float64,
            Kind::Int => DataType::Int64,
        }
    }
}

/// One stored column: name, kind and whether it may be null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// Column name, in the store and in the API's JSON.
    pub name: &'static str,
    /// How it is stored.
    pub kind: Kind,
    /// Whether it may be null.
    pub nullable: bool,
}

impl FieldDef {
    /// The Arrow field.
    pub fn arrow(&self) -> Field {
        Field::new(self.name, self.kind.data_type(), self.nullable)
    }
}

/// A value stored as one or more columns. Scalars are one column named after the row's field;
/// a flattened group (e.g. [`crate::analytics::IndicatorSet`]) contributes its own columns.
pub trait Columns: Sized {
    /// The Arrow builders of the columns.
    type Builders;
    /// Appends the column declarations of a field named `name`.
    fn defs(name: &'static str, out: &mut Vec<FieldDef>);
    /// Builders with room for `rows` values.
    fn builders(rows: usize) -> Self::Builders;
    /// Appends this value.
    fn append(&self, builders: &mut Self::Builders);
    /// Appends the finished columns.
    fn finish(builders: &mut Self::Builders, out: &mut Vec<ArrayRef>);
    /// Reads the values of the field named `name` from every row of `batch`.
    fn read(batch: &RecordBatch, name: &'static str) -> Result<Vec<Self>>;
}

/// A value stored in a single column (a number, a string, a time, a closed set).
pub trait Scalar: Sized {
    /// How it is stored.
    const KIND: Kind;
    /// Its Arrow builder.
    type Builder: ArrayBuilder;
    /// A builder with room for `rows` values.
    fn builder(rows: usize) -> Self::Builder;
    /// Appends a value or a null.
    fn append(value: Option<&Self>, builder: &mut Self::Builder);
    /// The value at a valid `row` of `array` (already of [`Self::KIND`]'s type).
    fn value(array: &dyn Array, row: usize) -> Result<Self>;
}

/// Column `name` of `batch` cast to `kind`'s type; `None` when the batch lacks it.
pub fn column(batch: &RecordBatch, name: &str, kind: Kind) -> Result<Option<ArrayRef>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(c) if c.data_type() == &kind.data_type() => Ok(Some(c.clone())),
        Some(c) => Ok(Some(cast(c, &kind.data_type())?)),
    }
}

/// Reads a non-null scalar column.
pub fn read_required<T: Scalar>(batch: &RecordBatch, name: &'static str) -> Result<Vec<T>> {
    let array = column(batch, name, T::KIND)?.ok_or(Error::MissingColumn(name))?;
    (0..batch.num_rows())
        .map(|r| {
            if array.is_null(r) {
                Err(Error::NullValue(name))
            } else {
                T::value(array.as_ref(), r)
            }
        })
        .collect()
}

/// Reads a nullable scalar column (a missing column reads as nulls).
pub fn read_optional<T: Scalar>(batch: &RecordBatch, name: &'static str) -> Result<Vec<Option<T>>> {
    let Some(array) = column(batch, name, T::KIND)? else {
        return Ok((0..batch.num_rows()).map(|_| None).collect());
    };
    (0..batch.num_rows())
        .map(|r| {
            if array.is_null(r) {
                Ok(None)
            } else {
                T::value(array.as_ref(), r).map(Some)
            }
        })
        .collect()
}

/// `Columns` for a [`Scalar`] (non-null) and its `Option` (nullable).
#[macro_export]
macro_rules! scalar_columns {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::column::Columns for $t {
            type Builders = <$t as $crate::column::Scalar>::Builder;
            fn defs(name: &'static str, out: &mut Vec<$crate::column::FieldDef>) {
                out.push($crate::column::FieldDef {
                    name,
                    kind: <$t as $crate::column::Scalar>::KIND,
                    nullable: false,
                });
            }
            fn builders(rows: usize) -> Self::Builders {
                <$t as $crate::column::Scalar>::builder(rows)
            }
            fn append(&self, b: &mut Self::Builders) {
                <$t as $crate::column::Scalar>::append(Some(self), b)
            }
            fn finish(b: &mut Self::Builders, out: &mut Vec<$crate::arrow::array::ArrayRef>) {
                out.push($crate::arrow::array::ArrayBuilder::finish(b));
            }
            fn read(
                batch: &$crate::arrow::record_batch::RecordBatch,
                name: &'static str,
            ) -> $crate::Result<Vec<Self>> {
                $crate::column::read_required(batch, name)
            }
        }

        impl $crate::column::Columns for Option<$t> {
            type Builders = <$t as $crate::column::Scalar>::Builder;
            fn defs(name: &'static str, out: &mut Vec<$crate::column::FieldDef>) {
                out.push($crate::column::FieldDef {
                    name,
                    kind: <$t as $crate::column::Scalar>::KIND,
                    nullable: true,
                });
            }
            fn builders(rows: usize) -> Self::Builders {
                <$t as $crate::column::Scalar>::builder(rows)
            }
            fn append(&self, b: &mut Self::Builders) {
                <$t as $crate::column::Scalar>::append(self.as_ref(), b)
            }
            fn finish(b: &mut Self::Builders, out: &mut Vec<$crate::arrow::array::ArrayRef>) {
                out.push($crate::arrow::array::ArrayBuilder::finish(b));
            }
            fn read(
                batch: &$crate::arrow::record_batch::RecordBatch,
                name: &'static str,
            ) -> $crate::Result<Vec<Self>> {
                $crate::column::read_optional(batch, name)
            }
        }
    )*};
}

impl Scalar for f64 {
    const KIND: Kind = Kind::Float;
    type Builder = Float64Builder;
    fn builder(rows: usize) -> Self::Builder {
        Float64Builder::with_capacity(rows)
    }
    fn append(value: Option<&Self>, b: &mut Self::Builder) {
        b.append_option(value.copied());
    }
    fn value(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(array.as_primitive::<Float64Type>().value(row))
    }
}

impl Scalar for i64 {
    const KIND: Kind = Kind::Int;
    type Builder = Int64Builder;
    fn builder(rows: usize) -> Self::Builder {
        Int64Builder::with_capacity(rows)
    }
    fn append(value: Option<&Self>, b: &mut Self::Builder) {
        b.append_option(value.copied());
    }
    fn value(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(array.as_primitive::<Int64Type>().value(row))
    }
}

impl Scalar for String {
    const KIND: Kind = Kind::Text;
    type Builder = StringBuilder;
    fn builder(rows: usize) -> Self::Builder {
        StringBuilder::with_capacity(rows, rows * 8)
    }
    fn append(value: Option<&Self>, b: &mut Self::Builder) {
        b.append_option(value);
    }
    fn value(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(array.as_string::<i32>().value(row).to_string())
    }
}

impl Scalar for Time {
    const KIND: Kind = Kind::Time;
    type Builder = TimestampNanosecondBuilder;
    fn builder(rows: usize) -> Self::Builder {
        TimestampNanosecondBuilder::with_capacity(rows).with_timezone(Arc::from("UTC"))
    }
    fn append(value: Option<&Self>, b: &mut Self::Builder) {
        b.append_option(value.map(|t| t.0));
    }
    fn value(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(Time(
            array.as_primitive::<TimestampNanosecondType>().value(row),
        ))
    }
}

impl Scalar for Nanos {
    const KIND: Kind = Kind::Int;
    type Builder = Int64Builder;
    fn builder(rows: usize) -> Self::Builder {
        Int64Builder::with_capacity(rows)
    }
    fn append(value: Option<&Self>, b: &mut Self::Builder) {
        b.append_option(value.map(|t| t.0));
    }
    fn value(array: &dyn Array, row: usize) -> Result<Self> {
        Ok(Nanos(array.as_primitive::<Int64Type>().value(row)))
    }
}

crate::scalar_columns!(f64, i64, String, Time, Nanos);

/// Declares a row struct whose fields are stored columns, in order, and implements
/// [`Columns`] for it (each field contributes its columns under its own name). Attributes on
/// the struct and its fields pass through (docs, serde, utoipa).
#[macro_export]
macro_rules! columns {
    (
        $(#[$meta:meta])*
        pub struct $row:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $row {
            $( $(#[$fmeta])* pub $field : $ty ),*
        }

        impl $row {
            /// The row's field names, in column order (a flattened group is one name).
            pub const FIELD_NAMES: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        const _: () = {
            #[allow(non_camel_case_types, missing_debug_implementations)]
            pub struct Builders {
                $( $field: <$ty as $crate::column::Columns>::Builders ),*
            }

            impl $crate::column::Columns for $row {
                type Builders = Builders;
                fn defs(_name: &'static str, out: &mut Vec<$crate::column::FieldDef>) {
                    $( <$ty as $crate::column::Columns>::defs(stringify!($field), out); )*
                }
                fn builders(rows: usize) -> Builders {
                    Builders {
                        $( $field: <$ty as $crate::column::Columns>::builders(rows) ),*
                    }
                }
                fn append(&self, b: &mut Builders) {
                    $( $crate::column::Columns::append(&self.$field, &mut b.$field); )*
                }
                fn finish(b: &mut Builders, out: &mut Vec<$crate::arrow::array::ArrayRef>) {
                    $( <$ty as $crate::column::Columns>::finish(&mut b.$field, out); )*
                }
                fn read(
                    batch: &$crate::arrow::record_batch::RecordBatch,
                    _name: &'static str,
                ) -> $crate::Result<Vec<Self>> {
                    $(
                        let mut $field = <$ty as $crate::column::Columns>::read(
                            batch,
                            stringify!($field),
                        )?
                        .into_iter();
                    )*
                    let mut rows = Vec::with_capacity(batch.num_rows());
                    for _ in 0..batch.num_rows() {
                        rows.push($row {
                            $( $field: $field.next().expect("one value per row") ),*
                        });
                    }
                    Ok(rows)
                }
            }
        };
    };
}

/// Declares a closed set stored as text: the enum, its stored strings (`as_str`, `FromStr`,
/// serde) and its OpenAPI enum, and makes it a [`Scalar`] column.
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),* $(,)?
        }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            $crate::serde::Serialize, $crate::serde::Deserialize, $crate::utoipa::ToSchema,
        )]
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored (and served) string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),*
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                match s {
                    $( $text => Ok($name::$variant), )*
                    _ => Err($crate::Error::UnknownValue {
                        set: stringify!($name),
                        value: s.to_string(),
                    }),
                }
            }
        }

        impl $crate::column::Scalar for $name {
            const KIND: $crate::column::Kind = $crate::column::Kind::Text;
            type Builder = $crate::arrow::array::StringBuilder;
            fn builder(rows: usize) -> Self::Builder {
                $crate::arrow::array::StringBuilder::with_capacity(rows, rows * 8)
            }
            fn append(value: Option<&Self>, b: &mut Self::Builder) {
                b.append_option(value.map(|v| v.as_str()));
            }
            fn value(
                array: &dyn $crate::arrow::array::Array,
                row: usize,
            ) -> $crate::Result<Self> {
                use $crate::arrow::array::AsArray;
                array.as_string::<i32>().value(row).parse()
            }
        }

        $crate::scalar_columns!($name);
    };
}
