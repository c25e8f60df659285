//! Decodes a serialized `TrackableObjectGraph` (FORMAT.md section 6) without copying a string:
//! every name is recorded as a span of the serialized bytes, checked to be UTF-8 once, here.
//! A 300k-node graph then costs a few flat arrays instead of a million small allocations.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::parts::Parts;
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

/// `TrackableObject`: where its references, attributes and slots start in its part's arrays
/// (each runs to where the next node's start, or to the end of the part). 16 bytes: a
/// 300k-node graph's nodes fit in 5 MB, and every page of them is one the kernel must zero and
/// fault in at open.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct NodeRecord {
    references: u32,
    attributes: u32,
    slots: u32,
    has_checkpoint_values: Option<bool>,
}

/// The records of the nodes decoded from one run of top-level fields.
#[derive(Clone, Debug, Default)]
struct Part {
    nodes: Vec<NodeRecord>,
    references: Vec<ReferenceRecord>,
    attributes: Vec<AttributeRecord>,
    slots: Vec<SlotRecord>,
    /// (node id within the part, name, object_name).
    savers: Vec<(u32, Span, Span)>,
    /// The largest node id its references and slots name, read as unsigned (a negative id is
    /// larger than any node count).
    largest_id: u32,
}

impl Part {
    /// Appends the nodes of `next`, decoded from the bytes that follow this part's.
    fn append(&mut self, next: Part) {
        let (references, attributes, slots, nodes) =
            (self.references.len() as u32, self.attributes.len() as u32, self.slots.len() as u32, self.nodes.len() as u32);
        self.nodes.extend(next.nodes.iter().map(|node| NodeRecord {
            references: node.references + references,
            attributes: node.attributes + attributes,
            slots: node.slots + slots,
            has_checkpoint_values: node.has_checkpoint_values,
        }));
        self.references.extend(next.references);
        self.attributes.extend(next.attributes);
        self.slots.extend(next.slots);
        self.savers.extend(next.savers.iter().map(|&(owner, name, object_name)| (owner + nodes, name, object_name)));
        self.largest_id = self.largest_id.max(next.largest_id);
    }
}

/// The whole graph as flat arrays, each in one or two parts: a node's records are in the part
/// it is, and a node of the back part counts its starts from that part's first records.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    nodes: Parts<NodeRecord>,
    pub references: Parts<ReferenceRecord>,
    pub attributes: Parts<AttributeRecord>,
    pub slots: Parts<SlotRecord>,
    /// `RegisteredSaver` (name, object_name) of the few nodes that have one, by node id.
    savers: Vec<(u32, Span, Span)>,
    /// [`Part::largest_id`] of the whole graph.
    largest_id: u32,
}

impl Decoded {
    /// The graph of the front part's nodes followed by the back part's.
    fn new(front: Part, back: Part) -> Decoded {
        let front_nodes = front.nodes.len() as u32;
        let mut savers = front.savers;
        savers.extend(back.savers.iter().map(|&(owner, name, object_name)| (owner + front_nodes, name, object_name)));
        Decoded {
            nodes: Parts::new(front.nodes, back.nodes),
            references: Parts::new(front.references, back.references),
            attributes: Parts::new(front.attributes, back.attributes),
            slots: Parts::new(front.slots, back.slots),
            savers,
            largest_id: front.largest_id.max(back.largest_id),
        }
    }

    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The largest node id a reference or slot names, a negative one read as larger than any
    /// node count: when it is below the count, every id names a node.
    pub fn largest_node_id(&self) -> u32 {
        self.largest_id
    }

    /// Indices into [`Decoded::references`] of a node's child edges.
    pub fn references_of(&self, node: usize) -> Range<usize> {
        self.range(node, |record| record.references, &self.references)
    }

    /// Indices into [`Decoded::attributes`] of a node's serialized tensors.
    pub fn attributes_of(&self, node: usize) -> Range<usize> {
        self.range(node, |record| record.attributes, &self.attributes)
    }

    /// Indices into [`Decoded::slots`] of a node's slot variables.
    pub fn slots_of(&self, node: usize) -> Range<usize> {
        self.range(node, |record| record.slots, &self.slots)
    }

    fn range<R>(&self, node: usize, start: fn(&NodeRecord) -> u32, records: &Parts<R>) -> Range<usize> {
        let ((front_nodes, back_nodes), (front_records, _)) = (self.nodes.parts(), records.parts());
        let (nodes, local, base, end) = match node.checked_sub(front_nodes.len()) {
            None => (front_nodes, node, 0, front_records.len()),
            Some(local) => (back_nodes, local, front_records.len(), records.len()),
        };
        let end = nodes.get(local + 1).map_or(end, |next| base + start(next) as usize);
        base + start(&nodes[local]) as usize..end
    }

    pub fn saver(&self, node: usize) -> Option<(Span, Span)> {
        let at = self.savers.binary_search_by_key(&(node as u32), |&(owner, ..)| owner).ok()?;
        let (_, name, object_name) = self.savers[at];
        Some((name, object_name))
    }

    pub fn has_checkpoint_values(&self, node: usize) -> Option<bool> {
        self.nodes[node].has_checkpoint_values
    }
}

/// Why the bytes are not a graph, and where: formatted only when it is reported.
#[derive(Clone, Debug)]
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

    #[inline(always)]
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
            // Names are nearly always ASCII, which is checked several times faster than UTF-8:
            // an OR of every byte, without an early exit, compiles to whole vector registers.
            if bytes.iter().fold(0u8, |any, &byte| any | byte) >= 0x80 {
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
    decode_graph(bytes, SPLIT_FROM).map_err(|error| error.to_string())
}

/// Graphs from this size up are decoded in two parts at once, each on its own core: a 300k-node
/// model's 37 MB graph is most of the time its open takes.
const SPLIT_FROM: usize = 4 << 20;

/// The places the helper's walk records in the front half, at most: where it may take over the
/// front's last nodes.
const MARKS: usize = 128;

/// The least the front must have left for the helper to take over half of it: less is not
/// worth a range decoded on its own and appended.
const MIN_TAKE_OVER: usize = 256 << 10;

/// What the two threads of a split decode share.
struct Split {
    /// The front thread stops at the first boundary at or past this offset: the middle at
    /// first, lowered by the helper when it takes over the front's last nodes.
    stop: AtomicUsize,
    /// The offset the front thread has decoded to.
    progress: AtomicUsize,
}

fn decode_graph(bytes: &[u8], split_from: usize) -> WireResult<Decoded> {
    if u32::try_from(bytes.len()).is_err() {
        return Err(WireError { what: "is 4 GiB or more, which is not supported", message: "TrackableObjectGraph", field: 1, at: 0 });
    }
    if bytes.len() < split_from {
        return Ok(Decoded::new(decode_part(bytes, 0..bytes.len())?, Part::default()));
    }
    // The front part stops at the first boundary between top-level fields at or past the
    // middle, and the back part starts there: the wire format cannot be entered anywhere else.
    // The helper finds it with a walk over the front's fields (a cache miss per node) while the
    // front is decoded, then decodes the back. Bytes are not work: nodes with many small fields
    // (a model's layers) cost more per byte than nodes of a few long names (slot variables), so
    // the helper, done first, takes over the second half of what the front has left, at a
    // boundary its walk recorded.
    let half = bytes.len() / 2;
    let split = Split { stop: AtomicUsize::new(half), progress: AtomicUsize::new(0) };
    let (front, back) = crate::threads::join(
        || {
            let mut front = Part::default();
            decode_fields(bytes, 0, &mut front, Some(&split)).map(|end| (front, end))
        },
        || {
            let mut marks = Vec::with_capacity(MARKS + 1);
            let middle = boundary_after(bytes, half, &mut marks)?;
            let back = decode_part(bytes, middle..bytes.len());
            // Until the front has little left: take the second half of what it has left.
            let (mut taken, mut upper) = (Vec::new(), middle);
            while let Some(from) = take_over_from(&marks, split.progress.load(Ordering::Relaxed), upper) {
                split.stop.fetch_min(from, Ordering::Relaxed);
                let piece = decode_part(bytes, from..upper);
                let failed = piece.is_err();
                taken.push((from..upper, piece));
                if failed {
                    break;
                }
                upper = from;
            }
            taken.reverse();
            Some((middle, taken, back))
        },
    );
    merge(bytes, front, back)
}

/// Where the helper takes over the front's last nodes, the front having decoded up to
/// `progress` and being due to stop at `upper`: the first mark past the middle of what it has
/// left; `None` when that is too little to share.
fn take_over_from(marks: &[usize], progress: usize, upper: usize) -> Option<usize> {
    if upper.saturating_sub(progress) < MIN_TAKE_OVER {
        return None;
    }
    let target = progress + (upper - progress) / 2;
    marks.iter().copied().find(|&mark| mark >= target).filter(|&from| from < upper)
}

/// What the helper of a split decode made: where the back starts, the front's last nodes it
/// took over (the ranges in order, each decoded on its own), and the back.
type HelperParts = Option<(usize, Vec<(Range<usize>, WireResult<Part>)>, WireResult<Part>)>;

/// The parts of a split decode as one graph, with the errors in the order a decode from the
/// start would meet them: the front's, then the taken-over ranges', then the back's. Where the
/// walk found no boundary (no helper parts), the front decoded the whole graph or met the error
/// that stopped it.
fn merge(bytes: &[u8], front: WireResult<(Part, usize)>, helper: HelperParts) -> WireResult<Decoded> {
    let (mut front, end) = front?;
    let Some((middle, taken, back)) = helper else {
        return Ok(Decoded::new(front, Part::default()));
    };
    // The front stops where the helper took over last, unless it had passed that boundary
    // before it saw the new stop: a range it entered is decoded again from where it stopped.
    let mut at = end;
    for (range, piece) in taken {
        if at == range.start {
            front.append(piece?);
        } else if at < range.end {
            decode_fields(&bytes[at..range.end], at, &mut front, None)?;
        }
        at = at.max(range.end);
    }
    if at < middle {
        decode_fields(&bytes[at..middle], at, &mut front, None)?;
    }
    Ok(Decoded::new(front, back?))
}

/// The first boundary between top-level fields at or past `half` and before the end; `None`
/// where there is none, or the framing before it is bad. Records in `marks` a boundary every
/// `half / MARKS` bytes or so on the way.
fn boundary_after(bytes: &[u8], half: usize, marks: &mut Vec<usize>) -> Option<usize> {
    let spacing = (half / MARKS).max(1);
    let mut next_mark = spacing;
    let mut graph = Fields::new(bytes, 0);
    while graph.next().ok()?.is_some() {
        let at = graph.cursor.position();
        if at >= half {
            return (at < bytes.len()).then_some(at);
        }
        if at >= next_mark {
            marks.push(at);
            next_mark = at + spacing;
        }
    }
    None
}

/// The nodes of the whole fields in `bytes[range]`.
fn decode_part(bytes: &[u8], range: Range<usize>) -> WireResult<Part> {
    let mut part = Part::default();
    decode_fields(&bytes[range.clone()], range.start, &mut part, None)?;
    Ok(part)
}

/// Decodes the top-level fields in `bytes`, which lie `base` bytes into the graph, into
/// `decoded`; with `split`, only up to the first boundary at or past its stop, publishing its
/// progress. Returns the offset in the graph where it stopped.
fn decode_fields(bytes: &[u8], base: usize, decoded: &mut Part, split: Option<&Split>) -> WireResult<usize> {
    let mut graph = Fields::new(bytes, base);
    while let Some((field, value)) = graph.next()? {
        if field == 1 {
            let node = submessage(value, "TrackableObjectGraph", field)?;
            decode_node(node, decoded)?;
        }
        if let Some(split) = split {
            let at = graph.cursor.position();
            split.progress.store(at, Ordering::Relaxed);
            if at >= split.stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    Ok(base + graph.cursor.position())
}

fn decode_node(mut fields: Fields<'_>, decoded: &mut Part) -> WireResult<()> {
    const MESSAGE: &str = "TrackableObject";
    // Each kind has its own array and nodes never interleave, so one node's entries of each
    // kind stay contiguous even where the wire interleaves the kinds.
    let mut node = NodeRecord {
        references: decoded.references.len() as u32,
        attributes: decoded.attributes.len() as u32,
        slots: decoded.slots.len() as u32,
        has_checkpoint_values: None,
    };
    let mut saver: Option<(Span, Span)> = None;
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
                decoded.largest_id = decoded.largest_id.max(reference.node_id as u32);
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
                decoded.largest_id = decoded.largest_id.max(slot.original_variable_node_id as u32).max(slot.slot_variable_node_id as u32);
                decoded.slots.push(slot);
            }
            4 => {
                // A singular message given twice merges field by field, as protobuf does.
                let (mut name, mut object_name) = saver.unwrap_or_default();
                let mut inner = submessage(value, MESSAGE, field)?;
                while let Some((field, value)) = inner.next()? {
                    match field {
                        1 => name = string(value, "RegisteredSaver", field)?,
                        2 => object_name = string(value, "RegisteredSaver", field)?,
                        _ => {}
                    }
                }
                saver = Some((name, object_name));
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
    if let Some((name, object_name)) = saver {
        decoded.savers.push((decoded.nodes.len() as u32, name, object_name));
    }
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

    /// Decoded whole (`false`) or in two parts at once (`true`), whatever the graph's size.
    fn decode_split(bytes: &[u8], split: bool) -> Result<Decoded, String> {
        decode_graph(bytes, if split { 0 } else { usize::MAX }).map_err(|error| error.to_string())
    }

    /// Field by field, the spans decode to what prost decodes, whole or in two parts.
    fn assert_same(bytes: &[u8]) {
        for split in [false, true] {
            assert_same_decoded(bytes, &decode_split(bytes, split).unwrap());
        }
    }

    fn assert_same_decoded(bytes: &[u8], decoded: &Decoded) {
        let expected = TrackableObjectGraph::decode(bytes).unwrap();
        assert_eq!(decoded.num_nodes(), expected.nodes.len());
        for (node, proto) in expected.nodes.iter().enumerate() {
            let references = &decoded.references[decoded.references_of(node)];
            let got: Vec<(i32, &str)> = references.iter().map(|r| (r.node_id, text(bytes, r.name))).collect();
            let want: Vec<(i32, &str)> = proto.children.iter().map(|r| (r.node_id, r.local_name.as_str())).collect();
            assert_eq!(got, want);
            let attributes = &decoded.attributes[decoded.attributes_of(node)];
            let got: Vec<[&str; 3]> = attributes.iter().map(|a| [text(bytes, a.name), text(bytes, a.full_name), text(bytes, a.checkpoint_key)]).collect();
            let want: Vec<[&str; 3]> = proto.attributes.iter().map(|a| [a.name.as_str(), a.full_name.as_str(), a.checkpoint_key.as_str()]).collect();
            assert_eq!(got, want);
            let slots = &decoded.slots[decoded.slots_of(node)];
            let got: Vec<(i32, &str, i32)> = slots.iter().map(|s| (s.original_variable_node_id, text(bytes, s.slot_name), s.slot_variable_node_id)).collect();
            let want: Vec<(i32, &str, i32)> = proto.slot_variables.iter().map(|s| (s.original_variable_node_id, s.slot_name.as_str(), s.slot_variable_node_id)).collect();
            assert_eq!(got, want);
            let saver = decoded.saver(node).map(|(name, object)| (text(bytes, name), text(bytes, object)));
            assert_eq!(saver, proto.registered_saver.as_ref().map(|s| (s.name.as_str(), s.object_name.as_str())));
            assert_eq!(decoded.has_checkpoint_values(node), proto.has_checkpoint_values);
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

    /// Two parts report the error a decode from the start meets first, wherever the damage is.
    #[test]
    fn a_graph_decoded_in_two_parts_reports_the_first_error() {
        // Every byte, or under Miri (a thousand times slower) a sample of them.
        let bytes = wide_graph(if cfg!(miri) { 3 } else { 40 }).encode_to_vec();
        for at in (0..bytes.len()).step_by(if cfg!(miri) { 29 } else { 1 }) {
            for damage in [0xff, 0x00, 0x07] {
                let mut damaged = bytes.clone();
                damaged[at] = damage;
                let (whole, parts) = (decode_split(&damaged, false), decode_split(&damaged, true));
                assert_eq!(whole.as_ref().err(), parts.as_ref().err(), "byte {at} set to {damage:#x}");
                if let (Ok(whole), Ok(parts)) = (whole, parts) {
                    assert_eq!(records(&whole), records(&parts), "byte {at} set to {damage:#x}");
                }
            }
            let (whole, parts) = (decode_split(&bytes[..at], false), decode_split(&bytes[..at], true));
            assert_eq!(whole.map(|d| records(&d)), parts.map(|d| records(&d)), "length {at}");
        }
    }

    /// However the front and the helper's taken-over ranges fall (the front stopping where the
    /// helper took over, before, or past it, as a race may have it), the merged graph and its
    /// first error are those of a decode from the start.
    #[test]
    fn a_split_decode_merges_to_the_whole_however_the_work_was_shared() {
        let bytes = wide_graph(if cfg!(miri) { 5 } else { 9 }).encode_to_vec();
        let mut boundaries = vec![0];
        let mut walk = Fields::new(&bytes, 0);
        while walk.next().unwrap().is_some() {
            boundaries.push(walk.cursor.position());
        }
        let middle = *boundaries.iter().find(|&&at| at >= bytes.len() / 2).unwrap();
        let inner: Vec<usize> = boundaries.iter().copied().filter(|&at| at > 0 && at < middle).collect();
        let back_node = (middle + bytes.len()) / 2;
        for damaged_at in [None, Some(3), Some(inner[inner.len() / 2] + 2), Some(middle - 2), Some(back_node)] {
            let mut bytes = bytes.clone();
            if let Some(at) = damaged_at {
                bytes[at] = 0xff;
            }
            let whole = decode_graph(&bytes, usize::MAX).map(|decoded| records(&decoded)).map_err(|error| error.to_string());
            let decode = |range: Range<usize>| decode_part(&bytes, range);
            for (low, &high) in inner.iter().enumerate().flat_map(|(at, high)| inner[..=at].iter().map(move |&low| (low, high))) {
                // Taken over: [low, high) and [high, middle), or only [high, middle) when low == high.
                let mut taken = vec![(high..middle, decode(high..middle))];
                if low < high {
                    taken.insert(0, (low..high, decode(low..high)));
                }
                for &end in boundaries.iter().filter(|&&at| at <= middle) {
                    let split = Split { stop: AtomicUsize::new(end), progress: AtomicUsize::new(0) };
                    let mut front = Part::default();
                    let front = decode_fields(&bytes, 0, &mut front, Some(&split)).map(|end| (front, end));
                    let merged = merge(&bytes, front, Some((middle, taken.clone(), decode(middle..bytes.len()))));
                    let merged = merged.map(|decoded| records(&decoded)).map_err(|error| error.to_string());
                    assert_eq!(merged, whole, "damaged at {damaged_at:?}, taken from {low} and {high}, front stopped at {end}");
                }
            }
        }
    }

    /// Every node's records, read through the accessors, whatever the parts they are kept in.
    fn records(decoded: &Decoded) -> Vec<String> {
        (0..decoded.num_nodes())
            .map(|node| {
                format!(
                    "{:?} {:?} {:?} {:?} {:?}",
                    &decoded.references[decoded.references_of(node)],
                    &decoded.attributes[decoded.attributes_of(node)],
                    &decoded.slots[decoded.slots_of(node)],
                    decoded.saver(node),
                    decoded.has_checkpoint_values(node)
                )
            })
            .collect()
    }

    #[test]
    fn malformed_wire_data_is_an_error() {
        for bad in [&[0x0a, 0x05, 0x00][..], &[0x00], &[0x0b], &[0x0a, 0x02, 0x12, 0x01], &[0x0a, 0x04, 0x0a, 0x02, 0x12, 0xff]] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }
}
