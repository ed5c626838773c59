//! Turning a resolved `apache_avro::types::Value` record into a Rust record (slow path only:
//! used when the writer schema differs from the one the Rust type was generated from).

use apache_avro::types::Value;

use crate::error::{Error, Result};

/// The fields of a resolved record, taken out one by one by name.
#[derive(Debug)]
pub(crate) struct Fields(Vec<(String, Value)>);

impl Fields {
    pub(crate) fn new(v: Value, what: &'static str) -> Result<Self> {
        match v {
            Value::Record(fields) => Ok(Self(fields)),
            _ => Err(Error::Value { what }),
        }
    }

    /// Moves the field out; resolution drops unions of one present branch, so unwrap those.
    fn take(&mut self, name: &'static str) -> Result<Value> {
        let slot = self
            .0
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or(Error::Value { what: name })?;
        let mut v = std::mem::replace(&mut slot.1, Value::Null);
        while let Value::Union(_, inner) = v {
            v = *inner;
        }
        Ok(v)
    }

    pub(crate) fn string(&mut self, name: &'static str) -> Result<String> {
        match self.take(name)? {
            Value::String(s) => Ok(s),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn opt_string(&mut self, name: &'static str) -> Result<Option<String>> {
        match self.take(name)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn double(&mut self, name: &'static str) -> Result<f64> {
        match self.take(name)? {
            Value::Double(d) => Ok(d),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn opt_double(&mut self, name: &'static str) -> Result<Option<f64>> {
        match self.take(name)? {
            Value::Null => Ok(None),
            Value::Double(d) => Ok(Some(d)),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn int(&mut self, name: &'static str) -> Result<i32> {
        match self.take(name)? {
            Value::Int(i) => Ok(i),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn long(&mut self, name: &'static str) -> Result<i64> {
        match self.take(name)? {
            Value::Long(l) => Ok(l),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn enum_symbol(&mut self, name: &'static str) -> Result<String> {
        match self.take(name)? {
            Value::Enum(_, symbol) => Ok(symbol),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn timestamp_ms(&mut self, name: &'static str) -> Result<i64> {
        match self.take(name)? {
            Value::TimestampMillis(t) | Value::Long(t) => Ok(t),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn bytes(&mut self, name: &'static str) -> Result<Vec<u8>> {
        match self.take(name)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(Error::Value { what: name }),
        }
    }

    pub(crate) fn string_array(&mut self, name: &'static str) -> Result<Vec<String>> {
        let Value::Array(items) = self.take(name)? else {
            return Err(Error::Value { what: name });
        };
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(Error::Value { what: name }),
            })
            .collect()
    }
}
