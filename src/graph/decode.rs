//! Decodes a serialized `TrackableObjectGraph` (FORMAT.md section 6) without copying a string:
//! every name is recorded as a span of the serialized bytes, checked to be UTF-8 once, here.
//! A 300k-node graph then costs a few flat arrays instead of a million small allocations.

use crate::format::coding::Cursor;

/// Where a string lies in the serialized graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub start: u32,
    pub len: u32,
}

/// `ObjectReference`: a child edge.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReferenceRecord {
    pub node_id: i32,
    pub name: Span,
}

/// `SerializedTensor`.
#[derive(Clone, Copy, Debug)]
pub(super) struct AttributeRecord {
    pub name: Span,
    pub full_name: Span,
    pub checkpoint_key: Span,
}

/// `SlotVariableReference`.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotRecord {
    pub original_variable_node_id: i32,
    pub slot_name: Span,
    pub slot_variable_node_id: i32,
}

/// `TrackableObject`: its references, attributes and slots are ranges of the shared arrays.
#[derive(Clone, Debug, Default)]
pub(super) struct NodeRecord {
    pub references: (u32, u32),
    pub attributes: (u32, u32),
    pub slots: (u32, u32),
    /// `RegisteredSaver` (name, object_name).
    pub saver: Option<(Span, Span)>,
    pub has_checkpoint_values: Option<bool>,
}

/// The whole graph as flat arrays.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    pub nodes: Vec<NodeRecord>,
    pub references: Vec<ReferenceRecord>,
    pub attributes: Vec<AttributeRecord>,
    pub slots: Vec<SlotRecord>,
}

/// Why the bytes are not a graph, and where: formatted only when it is reported.
#[derive(Debug)]
pub(super) struct WireError {
    what: &'static str,
    message: &'static str,
    field: u64,
    at: usize,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} field {}: {} (byte {})", self.message, self.field, self.what, self.at)
    }
}

type WireResult<T> = Result<T, WireError>;

/// One field of a message: its number and its value.
enum Value<'a> {
    Varint(u64),
    /// A length-delimited value and where it starts in the whole serialized graph.
    Bytes(&'a [u8], usize),
    /// A fixed-width value (wire types 1 and 5), which no field here uses.
    Fixed,
}

/// Reads the fields of one message, `base` being its offset in the whole graph.
struct Fields<'a> {
    cursor: Cursor<'a>,
    base: usize,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Fields { cursor: Cursor::new(bytes), base }
    }

    #[inline]
    fn next(&mut self) -> WireResult<Option<(u64, Value<'a>)>> {
        if self.cursor.rest().is_empty() {
            return Ok(None);
        }
        let at = self.base + self.cursor.position();
        let error = |what, field| WireError { what, message: "message", field, at };
        let tag = self.cursor.varint64().ok_or_else(|| error("malformed tag", 0))?;
        let field = tag >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(error("invalid field number", field));
        }
        let truncated = || error("runs past the end of its message", field);
        let value = match tag & 7 {
            0 => Value::Varint(self.cursor.varint64().ok_or_else(truncated)?),
            1 => self.cursor.take(8).map(|_| Value::Fixed).ok_or_else(truncated)?,
            2 => {
                let len = self.cursor.varint64().ok_or_else(truncated)?;
                let start = self.base + self.cursor.position();
                let len = usize::try_from(len).map_err(|_| truncated())?;
                Value::Bytes(self.cursor.take(len).ok_or_else(truncated)?, start)
            }
            5 => self.cursor.take(4).map(|_| Value::Fixed).ok_or_else(truncated)?,
            _ => return Err(error("unsupported wire type", field)),
        };
        Ok(Some((field, value)))
    }
}

fn wrong_type(message: &'static str, field: u64) -> WireError {
    WireError { what: "has the wrong wire type", message, field, at: 0 }
}

/// A UTF-8 string field, as a span.
#[inline]
fn string(value: Value<'_>, message: &'static str, field: u64) -> WireResult<Span> {
    match value {
        Value::Bytes(bytes, start) => {
            // Names are nearly always ASCII, which is checked several times faster than UTF-8.
            if !bytes.is_ascii() {
                std::str::from_utf8(bytes).map_err(|_| WireError { what: "is not UTF-8", message, field, at: start })?;
            }
            Ok(Span { start: start as u32, len: bytes.len() as u32 })
        }
        _ => Err(wrong_type(message, field)),
    }
}

/// An int32 field: protobuf truncates the varint to 32 bits.
#[inline]
fn int32(value: Value<'_>, message: &'static str, field: u64) -> WireResult<i32> {
    match value {
        Value::Varint(raw) => Ok(raw as i32),
        _ => Err(wrong_type(message, field)),
    }
}

#[inline]
fn submessage<'a>(value: Value<'a>, message: &'static str, field: u64) -> WireResult<Fields<'a>> {
    match value {
        Value::Bytes(bytes, start) => Ok(Fields::new(bytes, start)),
        _ => Err(wrong_type(message, field)),
    }
}

/// Decodes the graph. Node ids are not range-checked here; the caller does that.
pub(super) fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    decode_graph(bytes).map_err(|error| error.to_string())
}

fn decode_graph(bytes: &[u8]) -> WireResult<Decoded> {
    if u32::try_from(bytes.len()).is_err() {
        return Err(WireError { what: "is 4 GiB or more, which is not supported", message: "TrackableObjectGraph", field: 1, at: 0 });
    }
    let mut decoded = Decoded::default();
    let mut graph = Fields::new(bytes, 0);
    while let Some((field, value)) = graph.next()? {
        if field == 1 {
            let node = submessage(value, "TrackableObjectGraph", field)?;
            decode_node(node, &mut decoded)?;
        }
    }
    Ok(decoded)
}

fn decode_node(mut fields: Fields<'_>, decoded: &mut Decoded) -> WireResult<()> {
    const MESSAGE: &str = "TrackableObject";
    let mut node = NodeRecord::default();
    // Each kind has its own array and nodes never interleave, so one node's entries of each
    // kind stay contiguous even where the wire interleaves the kinds.
    let starts = (decoded.references.len(), decoded.attributes.len(), decoded.slots.len());
    while let Some((field, value)) = fields.next()? {
        match field {
            1 => {
                let mut reference = ReferenceRecord { node_id: 0, name: Span::default() };
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    match field {
                        1 => reference.node_id = int32(value, "ObjectReference", field)?,
                        2 => reference.name = string(value, "ObjectReference", field)?,
                        _ => {}
                    }
                }
                decoded.references.push(reference);
            }
            2 => {
                let mut attribute = AttributeRecord { name: Span::default(), full_name: Span::default(), checkpoint_key: Span::default() };
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    match field {
                        1 => attribute.name = string(value, "SerializedTensor", field)?,
                        2 => attribute.full_name = string(value, "SerializedTensor", field)?,
                        3 => attribute.checkpoint_key = string(value, "SerializedTensor", field)?,
                        _ => {}
                    }
                }
                decoded.attributes.push(attribute);
            }
            3 => {
                let mut slot = SlotRecord { original_variable_node_id: 0, slot_name: Span::default(), slot_variable_node_id: 0 };
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    match field {
                        1 => slot.original_variable_node_id = int32(value, "SlotVariableReference", field)?,
                        2 => slot.slot_name = string(value, "SlotVariableReference", field)?,
                        3 => slot.slot_variable_node_id = int32(value, "SlotVariableReference", field)?,
                        _ => {}
                    }
                }
                decoded.slots.push(slot);
            }
            4 => {
                // A singular message given twice merges field by field, as protobuf does.
                let (mut name, mut object_name) = node.saver.unwrap_or_default();
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    match field {
                        1 => name = string(value, "RegisteredSaver", field)?,
                        2 => object_name = string(value, "RegisteredSaver", field)?,
                        _ => {}
                    }
                }
                node.saver = Some((name, object_name));
            }
            5 => {
                let mut flag = node.has_checkpoint_values.unwrap_or(false);
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    if field == 1 {
                        match value {
                            Value::Varint(raw) => flag = raw != 0,
                            _ => return Err(wrong_type("BoolValue", field)),
                        }
                    }
                }
                node.has_checkpoint_values = Some(flag);
            }
            _ => {}
        }
    }
    node.references = (starts.0 as u32, decoded.references.len() as u32);
    node.attributes = (starts.1 as u32, decoded.attributes.len() as u32);
    node.slots = (starts.2 as u32, decoded.slots.len() as u32);
    decoded.nodes.push(node);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SerializedTensor, SlotVariableReference};
    use crate::format::proto::trackable_object_graph::TrackableObject;
    use crate::format::proto::{RegisteredSaver, TrackableObjectGraph};
    use prost::Message;

    fn text(bytes: &[u8], span: Span) -> &str {
        std::str::from_utf8(&bytes[span.start as usize..(span.start + span.len) as usize]).unwrap()
    }

    /// Field by field, the spans decode to what prost decodes.
    fn assert_same(bytes: &[u8]) {
        let expected = TrackableObjectGraph::decode(bytes).unwrap();
        let decoded = decode(bytes).unwrap();
        assert_eq!(decoded.nodes.len(), expected.nodes.len());
        for (node, proto) in decoded.nodes.iter().zip(&expected.nodes) {
            let references = &decoded.references[node.references.0 as usize..node.references.1 as usize];
            let got: Vec<(i32, &str)> = references.iter().map(|r| (r.node_id, text(bytes, r.name))).collect();
            let want: Vec<(i32, &str)> = proto.children.iter().map(|r| (r.node_id, r.local_name.as_str())).collect();
            assert_eq!(got, want);
            let attributes = &decoded.attributes[node.attributes.0 as usize..node.attributes.1 as usize];
            let got: Vec<[&str; 3]> = attributes.iter().map(|a| [text(bytes, a.name), text(bytes, a.full_name), text(bytes, a.checkpoint_key)]).collect();
            let want: Vec<[&str; 3]> = proto.attributes.iter().map(|a| [a.name.as_str(), a.full_name.as_str(), a.checkpoint_key.as_str()]).collect();
            assert_eq!(got, want);
            let slots = &decoded.slots[node.slots.0 as usize..node.slots.1 as usize];
            let got: Vec<(i32, &str, i32)> = slots.iter().map(|s| (s.original_variable_node_id, text(bytes, s.slot_name), s.slot_variable_node_id)).collect();
            let want: Vec<(i32, &str, i32)> = proto.slot_variables.iter().map(|s| (s.original_variable_node_id, s.slot_name.as_str(), s.slot_variable_node_id)).collect();
            assert_eq!(got, want);
            let saver = node.saver.map(|(name, object)| (text(bytes, name), text(bytes, object)));
            assert_eq!(saver, proto.registered_saver.as_ref().map(|s| (s.name.as_str(), s.object_name.as_str())));
            assert_eq!(node.has_checkpoint_values, proto.has_checkpoint_values);
        }
    }

    fn crafted() -> TrackableObjectGraph {
        let reference = |node_id, name: &str| ObjectReference { node_id, local_name: name.into() };
        TrackableObjectGraph {
            nodes: vec![
                TrackableObject {
                    children: vec![reference(1, "x"), reference(-1, "neg"), reference(1, "x"), reference(0, "")],
                    registered_saver: Some(RegisteredSaver { name: "saver".into(), object_name: "été".into() }),
                    has_checkpoint_values: Some(false),
                    ..Default::default()
                },
                TrackableObject {
                    slot_variables: vec![SlotVariableReference { original_variable_node_id: 0, slot_name: "m".into(), slot_variable_node_id: i32::MAX }],
                    has_checkpoint_values: Some(true),
                    ..Default::default()
                },
            ],
        }
    }

    /// A tree of `nodes` nodes, each with a child, an attribute and a slot variable, names of
    /// every length so that varints of one and two bytes both occur.
    fn wide_graph(nodes: usize) -> TrackableObjectGraph {
        let nodes = (0..nodes as i32)
            .map(|id| TrackableObject {
                children: vec![ObjectReference { node_id: (2 * id + 1) % nodes as i32, local_name: "c".repeat(id as usize % 200) }],
                attributes: vec![SerializedTensor { name: "VARIABLE_VALUE".into(), full_name: format!("v{id}"), checkpoint_key: format!("k{id}/.ATTRIBUTES/VARIABLE_VALUE") }],
                slot_variables: vec![SlotVariableReference { original_variable_node_id: id, slot_name: "m".into(), slot_variable_node_id: 0 }],
                ..Default::default()
            })
            .collect();
        TrackableObjectGraph { nodes }
    }

    #[test]
    fn agrees_with_prost() {
        assert_same(&crafted().encode_to_vec());
        let nodes = if cfg!(miri) { 100 } else { 2000 };
        assert_same(&wide_graph(nodes).encode_to_vec());
    }

    #[test]
    fn every_truncation_is_judged_as_prost_judges_it() {
        let bytes = crafted().encode_to_vec();
        for length in 0..bytes.len() {
            let piece = &bytes[..length];
            assert_eq!(decode(piece).is_ok(), TrackableObjectGraph::decode(piece).is_ok(), "length {length}");
        }
    }

    #[test]
    fn malformed_wire_data_is_an_error() {
        for bad in [&[0x0a, 0x05, 0x00][..], &[0x00], &[0x0b], &[0x0a, 0x02, 0x12, 0x01], &[0x0a, 0x04, 0x0a, 0x02, 0x12, 0xff]] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }
}
