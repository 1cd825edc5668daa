//! Reading a type from a parsed [`Node`] through serde, as serde_yaml reads it from the same
//! text, or [`Decline`] wherever this reader is not certain to.

use serde::de::{self, Visitor};

use super::{Doc, Node};

/// How serde_yaml reads a plain scalar where any type will do, when this reader is sure.
enum Plain {
    Null,
    Bool(bool),
    U64(u64),
    Str,
}

fn resolve(t: &str) -> Option<Plain> {
    if t.is_empty() || is_null(t) {
        return Some(Plain::Null);
    }
    if let Some(b) = parse_bool(t) {
        return Some(Plain::Bool(b));
    }
    let first = t.as_bytes()[0];
    if first.is_ascii_alphabetic() {
        // of these only `inf`, `nan` and the like read as floats, and serde_yaml takes those
        // (not finite) as strings
        return Some(Plain::Str);
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        if t.len() > 1 && first == b'0' {
            return Some(Plain::Str); // leading zeros: a string to YAML 1.2 and serde_yaml
        }
        return t.parse().ok().map(Plain::U64); // beyond u64: not sure
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let special = unsigned
        .strip_prefix('.')
        .is_some_and(|r| r.eq_ignore_ascii_case("inf") || r.eq_ignore_ascii_case("nan"));
    let radix = ["0x", "0o", "0b"].iter().any(|p| unsigned.starts_with(p));
    if special || radix || t.parse::<f64>().is_ok() {
        return None; // a number of some other kind, or a string: not sure which
    }
    Some(Plain::Str)
}

fn is_null(t: &str) -> bool {
    matches!(t, "null" | "Null" | "NULL" | "~")
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Any error: the caller reads the text the exact way, which says what is wrong.
#[derive(Debug)]
pub struct Decline;

impl std::fmt::Display for Decline {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("not in the block subset")
    }
}

impl std::error::Error for Decline {}

impl de::Error for Decline {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Decline
    }
}

/// A scalar, as a node's value or a mapping's key.
struct Scalar<'n> {
    text: &'n str,
    plain: bool,
}

/// Unit structs and tuples, which no cluster file holds: declined.
macro_rules! decline_tuples {
    () => {
        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: V,
        ) -> Result<V::Value, Decline> {
            Err(Decline)
        }
        fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Decline> {
            Err(Decline)
        }
        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: usize,
            _: V,
        ) -> Result<V::Value, Decline> {
            Err(Decline)
        }
    };
}

macro_rules! decline {
    ($($name:ident)*) => {
        $(fn $name<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Decline> {
            Err(Decline)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Scalar<'_> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        if !self.plain {
            return v.visit_str(self.text);
        }
        match resolve(self.text).ok_or(Decline)? {
            Plain::Null => v.visit_unit(),
            Plain::Bool(b) => v.visit_bool(b),
            Plain::U64(n) => v.visit_u64(n),
            Plain::Str => v.visit_str(self.text),
        }
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match parse_bool(self.text) {
            Some(b) if self.plain => v.visit_bool(b),
            _ => Err(Decline),
        }
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match resolve(self.text) {
            Some(Plain::U64(n)) if self.plain => v.visit_u64(n),
            _ => Err(Decline),
        }
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        v.visit_str(self.text)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        v.visit_str(self.text)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        v.visit_str(self.text)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        if self.plain && (self.text.is_empty() || is_null(self.text)) {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Decline> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Decline> {
        if self.text.is_empty() {
            return Err(Decline);
        }
        v.visit_enum(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        v.visit_unit()
    }
    decline_tuples!();
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Decline> {
        Err(Decline)
    }
    decline! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u128 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_seq deserialize_map
    }
}

/// A scalar as an enum: a unit variant named by its text (as serde_yaml reads `provider: gcp`).
impl<'de> de::EnumAccess<'de> for Scalar<'_> {
    type Error = Decline;
    type Variant = Unit;
    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Unit), Decline> {
        Ok((seed.deserialize(self)?, Unit))
    }
}

pub struct Unit;

impl<'de> de::VariantAccess<'de> for Unit {
    type Error = Decline;
    fn unit_variant(self) -> Result<(), Decline> {
        Ok(())
    }
    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, Decline> {
        Err(Decline)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Decline> {
        Err(Decline)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Decline> {
        Err(Decline)
    }
}

/// A node of a document, with the document that holds its collections' contents.
#[derive(Clone, Copy)]
pub struct At<'n> {
    pub doc: &'n Doc<'n>,
    pub node: &'n Node<'n>,
}

impl<'de, 'n> de::Deserializer<'de> for At<'n> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match self.node {
            Node::Scalar(..) => self.scalar()?.deserialize_any(v),
            Node::Map(_) => self.deserialize_map(v),
            Node::Seq(_) => self.deserialize_seq(v),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match self.scalar() {
            Ok(scalar) => scalar.deserialize_option(v),
            Err(_) => v.visit_some(self),
        }
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match self.node {
            Node::Seq(items) => v.visit_seq(Items {
                doc: self.doc,
                rest: self.doc.items[items.clone()].iter(),
            }),
            _ => Err(Decline),
        }
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        match self.node {
            Node::Map(entries) => v.visit_map(Entries {
                doc: self.doc,
                rest: &self.doc.entries[entries.clone()],
                value: None,
            }),
            _ => Err(Decline),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Decline> {
        self.deserialize_map(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Decline> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        v.visit_unit()
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_enum(name, variants, v)
    }
    decline_tuples!();
    // scalars only: a collection where one is wanted is an error serde_yaml words itself
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_bool(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_u64(v)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_str(v)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_str(v)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Decline> {
        self.scalar()?.deserialize_str(v)
    }
    decline! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u128 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf deserialize_unit
    }
}

impl<'n> At<'n> {
    fn scalar(self) -> Result<Scalar<'n>, Decline> {
        match self.node {
            Node::Scalar(text, plain) => Ok(Scalar {
                text,
                plain: *plain,
            }),
            _ => Err(Decline),
        }
    }
}

struct Entries<'n> {
    doc: &'n Doc<'n>,
    rest: &'n [(&'n str, Node<'n>)],
    value: Option<&'n Node<'n>>,
}

impl<'de, 'n> de::MapAccess<'de> for Entries<'n> {
    type Error = Decline;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Decline> {
        let Some(((key, value), rest)) = self.rest.split_first() else {
            return Ok(None);
        };
        self.rest = rest;
        self.value = Some(value);
        seed.deserialize(Scalar {
            text: key,
            plain: true,
        })
        .map(Some)
    }
    fn next_value_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Decline> {
        let node = self.value.take().ok_or(Decline)?;
        seed.deserialize(At {
            doc: self.doc,
            node,
        })
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.rest.len())
    }
}

struct Items<'n> {
    doc: &'n Doc<'n>,
    rest: std::slice::Iter<'n, Node<'n>>,
}

impl<'de, 'n> de::SeqAccess<'de> for Items<'n> {
    type Error = Decline;
    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Decline> {
        let doc = self.doc;
        self.rest
            .next()
            .map(|node| seed.deserialize(At { doc, node }))
            .transpose()
    }
    // the collection gets its size at once, not by doubling (each doubling copies what was read)
    fn size_hint(&self) -> Option<usize> {
        Some(self.rest.len())
    }
}
