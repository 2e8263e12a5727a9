//! The protobuf wire format, read without allocating: fields as (number, raw value), and the
//! values of one field (packed or not) as typed values.

use crate::plan::ValueKind;

/// Bytes that are not a well-formed encoding (cannot happen for what prost encoded itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// A field's raw value, by wire type.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// A value read as the field's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
    Bytes(&'a [u8]),
    Enum(i32),
    /// An encoded message.
    Message(&'a [u8]),
}

impl Val<'_> {
    /// The proto3 zero value of its type (a present message never is).
    pub fn is_zero(&self) -> bool {
        match *self {
            Val::Int(v) => v == 0,
            Val::UInt(v) => v == 0,
            Val::Float(v) => v == 0.0,
            Val::Bool(v) => !v,
            Val::Str(v) => v.is_empty(),
            Val::Bytes(v) => v.is_empty(),
            Val::Enum(v) => v == 0,
            Val::Message(_) => false,
        }
    }

    /// The zero value of a kind: what an absent field without presence holds.
    pub fn zero(kind: &ValueKind) -> Val<'static> {
        match kind {
            ValueKind::Int32 | ValueKind::Int64 | ValueKind::SInt32 | ValueKind::SInt64 => Val::Int(0),
            ValueKind::SFixed32 | ValueKind::SFixed64 => Val::Int(0),
            ValueKind::UInt32 | ValueKind::UInt64 | ValueKind::Fixed32 | ValueKind::Fixed64 => Val::UInt(0),
            ValueKind::Float | ValueKind::Double => Val::Float(0.0),
            ValueKind::Bool => Val::Bool(false),
            ValueKind::String => Val::Str(""),
            ValueKind::Bytes => Val::Bytes(&[]),
            ValueKind::Enum => Val::Enum(0),
            ValueKind::Message => Val::Message(&[]),
        }
    }
}

/// Reads a base-128 varint at the start of `buf`, advancing it.
fn varint(buf: &mut &[u8]) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(Malformed)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], Malformed> {
    if buf.len() < n {
        return Err(Malformed);
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

/// The fields of one encoded message, in wire order.
pub struct Fields<'a> {
    buf: &'a [u8],
}

pub fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Raw<'a>), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        Some(self.read())
    }
}

impl<'a> Fields<'a> {
    fn read(&mut self) -> Result<(u32, Raw<'a>), Malformed> {
        let key = varint(&mut self.buf)?;
        let number = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        let raw = match key & 7 {
            0 => Raw::Varint(varint(&mut self.buf)?),
            1 => Raw::Fixed64(u64::from_le_bytes(take(&mut self.buf, 8)?.try_into().map_err(|_| Malformed)?)),
            2 => {
                let len = usize::try_from(varint(&mut self.buf)?).map_err(|_| Malformed)?;
                Raw::Len(take(&mut self.buf, len)?)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(take(&mut self.buf, 4)?.try_into().map_err(|_| Malformed)?)),
            // Groups (3, 4) do not exist in proto3; nothing else is a wire type.
            _ => return Err(Malformed),
        };
        Ok((number, raw))
    }
}

/// One raw occurrence of a field as its values: one, or several when a repeated scalar is packed.
pub fn values<'a>(kind: &ValueKind, raw: Raw<'a>, out: &mut Vec<Val<'a>>) -> Result<(), Malformed> {
    match (kind, raw) {
        (ValueKind::String, Raw::Len(b)) => out.push(Val::Str(std::str::from_utf8(b).map_err(|_| Malformed)?)),
        (ValueKind::Bytes, Raw::Len(b)) => out.push(Val::Bytes(b)),
        (ValueKind::Message, Raw::Len(b)) => out.push(Val::Message(b)),
        (_, Raw::Len(mut packed)) => {
            while !packed.is_empty() {
                let raw = match kind.wire_type() {
                    0 => Raw::Varint(varint(&mut packed)?),
                    1 => Raw::Fixed64(u64::from_le_bytes(take(&mut packed, 8)?.try_into().map_err(|_| Malformed)?)),
                    _ => Raw::Fixed32(u32::from_le_bytes(take(&mut packed, 4)?.try_into().map_err(|_| Malformed)?)),
                };
                out.push(scalar(kind, raw)?);
            }
        }
        (_, raw) => out.push(scalar(kind, raw)?),
    }
    Ok(())
}

/// A scalar (not length-delimited) value as its kind.
fn scalar<'a>(kind: &ValueKind, raw: Raw<'a>) -> Result<Val<'a>, Malformed> {
    let zigzag = |v: u64| ((v >> 1) as i64) ^ -((v & 1) as i64);
    Ok(match (kind, raw) {
        // int32 is sign-extended to 64 bits on the wire; the low 32 bits are the value.
        (ValueKind::Int32, Raw::Varint(v)) => Val::Int(i64::from(v as i32)),
        (ValueKind::Int64, Raw::Varint(v)) => Val::Int(v as i64),
        (ValueKind::UInt32, Raw::Varint(v)) => Val::UInt(u64::from(v as u32)),
        (ValueKind::UInt64, Raw::Varint(v)) => Val::UInt(v),
        (ValueKind::SInt32, Raw::Varint(v)) => Val::Int(i64::from(zigzag(v) as i32)),
        (ValueKind::SInt64, Raw::Varint(v)) => Val::Int(zigzag(v)),
        (ValueKind::Bool, Raw::Varint(v)) => Val::Bool(v != 0),
        (ValueKind::Enum, Raw::Varint(v)) => Val::Enum(v as i32),
        (ValueKind::Fixed32, Raw::Fixed32(v)) => Val::UInt(u64::from(v)),
        (ValueKind::SFixed32, Raw::Fixed32(v)) => Val::Int(i64::from(v as i32)),
        (ValueKind::Float, Raw::Fixed32(v)) => Val::Float(f64::from(f32::from_bits(v))),
        (ValueKind::Fixed64, Raw::Fixed64(v)) => Val::UInt(v),
        (ValueKind::SFixed64, Raw::Fixed64(v)) => Val::Int(v as i64),
        (ValueKind::Double, Raw::Fixed64(v)) => Val::Float(f64::from_bits(v)),
        _ => return Err(Malformed),
    })
}

/// A `google.protobuf.Duration` or `Timestamp` (seconds 1, nanos 2) as nanoseconds.
pub fn seconds_nanos(message: &[u8]) -> Result<i128, Malformed> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    for field in fields(message) {
        match field? {
            (1, Raw::Varint(v)) => seconds = v as i64,
            (2, Raw::Varint(v)) => nanos = v as i32,
            _ => {}
        }
    }
    Ok(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_packed_values() {
        // field 1 varint 150; field 2 "hi"; field 3 packed [1, 300]; field 4 fixed32 7.
        let bytes = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1a, 0x03, 0x01, 0xac, 0x02, 0x25, 7, 0, 0, 0];
        let all: Vec<_> = fields(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 4);
        let mut out = Vec::new();
        values(&ValueKind::Int32, all[0].1, &mut out).unwrap();
        values(&ValueKind::String, all[1].1, &mut out).unwrap();
        values(&ValueKind::UInt64, all[2].1, &mut out).unwrap();
        values(&ValueKind::Fixed32, all[3].1, &mut out).unwrap();
        assert_eq!(out, [Val::Int(150), Val::Str("hi"), Val::UInt(1), Val::UInt(300), Val::UInt(7)]);
        // A negative int32 takes ten bytes and reads back as itself.
        let negative = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let (_, raw) = fields(&negative).next().unwrap().unwrap();
        let mut out = Vec::new();
        values(&ValueKind::Int32, raw, &mut out).unwrap();
        assert_eq!(out, [Val::Int(-1)]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bytes in [&[0x08][..], &[0x12, 0x05, b'a'], &[0x0b], &[0xff; 11]] {
            assert!(fields(bytes).any(|f| f.is_err()), "{bytes:?}");
        }
    }
}
