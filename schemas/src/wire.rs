//! Confluent wire framing: `[0x00][schema id: u32 big-endian][Avro datum]`.

use apache_avro::{Schema, types::Value};

use crate::Message;
use crate::error::{Error, Result};
use crate::registry::{Registry, read_resolved};

/// First byte of every frame.
pub const MAGIC: u8 = 0;
/// Magic byte + schema id.
pub const HEADER_LEN: usize = 5;

/// Appends the framed message to `out` (the caller clears `out` between messages to reuse it).
pub fn encode<M: Message>(msg: &M, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&M::SCHEMA_ID.to_be_bytes());
    msg.encode_datum(out);
}

/// The framed message in a new buffer.
pub fn to_bytes<M: Message>(msg: &M) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode(msg, &mut out);
    out
}

/// Reads the schema id of a frame, checking its length and magic byte.
pub fn schema_id(bytes: &[u8]) -> Result<u32> {
    split(bytes).map(|(id, _)| id)
}

fn split(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let too_short = Error::TooShort {
        len: bytes.len(),
        need: HEADER_LEN,
    };
    let (&magic, rest) = bytes.split_first().ok_or(too_short.clone())?;
    let (id, datum) = rest.split_first_chunk::<4>().ok_or(too_short)?;
    if magic != MAGIC {
        return Err(Error::BadMagic(magic));
    }
    Ok((u32::from_be_bytes(*id), datum))
}

/// Decodes a frame with the built-in registry (ids 1–5). See [`decode_with_registry`].
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M> {
    decode_with_registry(Registry::builtin(), bytes)
}

/// [`decode`] over an existing record: on the fast path its allocations are kept
/// ([`Message::decode_datum_into`]). On error `out` may hold a mix of old and new values.
pub fn decode_into<M: Message>(bytes: &[u8], out: &mut M) -> Result<()> {
    let (id, datum) = split(bytes)?;
    if id == M::SCHEMA_ID {
        return out.decode_datum_into(datum);
    }
    *out = decode(bytes)?;
    Ok(())
}

/// Decodes a frame as `M`.
///
/// `M::SCHEMA_ID` takes the fast path ([`Message::decode_datum`]); another id whose writer
/// schema in `reg` is a version of the same record is resolved against `M::schema()` by
/// `apache-avro` (added fields dropped, missing fields defaulted); any other id is an error.
pub fn decode_with_registry<M: Message>(reg: &Registry, bytes: &[u8]) -> Result<M> {
    let (id, datum) = split(bytes)?;
    if id == M::SCHEMA_ID {
        return M::decode_datum(datum);
    }
    let writer = reg.get(id).ok_or(Error::UnknownSchemaId(id))?;
    if reg.full_name(id) != Some(M::FULL_NAME) {
        return Err(Error::SchemaMismatch {
            expected: M::FULL_NAME,
            found_id: id,
        });
    }
    M::from_avro_value(read_resolved(writer, datum, Some(M::schema()))?)
}

/// Decodes a frame of any registered id into a generic Avro value resolved to `reader`.
pub fn decode_value(reg: &Registry, bytes: &[u8], reader: &Schema) -> Result<Value> {
    let (id, datum) = split(bytes)?;
    let writer = reg.get(id).ok_or(Error::UnknownSchemaId(id))?;
    read_resolved(writer, datum, Some(reader))
}
