//! Schema resolution: reading data written with one schema (the writer's) as another (the reader's), by the
//! specification's rules. A [`Resolver`] is built once per writer/reader pair; it then transcodes each writer body
//! into the reader's layout, which the reader type's own decoder reads: fields the reader lacks are skipped, fields
//! the writer lacks get the reader's default (encoded once, when the resolver is built), promotions are applied
//! (int→long→float→double, string↔bytes), enum symbols and union branches are mapped by name, and fields are
//! reordered only where the two schemas order them differently.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::codec::DecodeError;
use crate::codec::encoding as enc;
use crate::compat::{CheckOptions, Incompatibility, NodeChecker, check};
use crate::schema::parse::excerpt;
use crate::schema::{NamedId, NamedKind, Node, Primitive, Schema};

/// Why a writer schema cannot be read as the reader schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the writer's schema cannot be read as the reader's: {}", list_breaks(self))]
pub struct Unresolvable {
    /// Every incompatibility, with its path (the first ones only, if [`truncated`](Self::truncated)).
    pub breaks: Vec<Incompatibility>,
    /// How many more incompatibilities there were, dropped by [`truncated`](Self::truncated).
    pub omitted: usize,
}

impl Unresolvable {
    /// Keeps the first `n` breaks and counts the others: what a cache holds for a writer schema it refuses (a
    /// union of 100,000 branches has as many breaks).
    pub fn truncated(mut self, n: usize) -> Unresolvable {
        if self.breaks.len() > n {
            self.omitted += self.breaks.len() - n;
            self.breaks.truncate(n);
            self.breaks.shrink_to_fit();
        }
        self
    }

    /// All the breaks, as found (before any truncation).
    pub fn count(&self) -> usize {
        self.breaks.len() + self.omitted
    }
}

/// Most breaks an [`Unresolvable`]'s message lists.
const LISTED_BREAKS: usize = 10;

fn list_breaks(u: &Unresolvable) -> String {
    let mut out = u.breaks.iter().take(LISTED_BREAKS).map(ToString::to_string).collect::<Vec<_>>().join("; ");
    let more = u.count().saturating_sub(LISTED_BREAKS);
    if more > 0 {
        out.push_str(&format!("; and {more} more"));
    }
    out
}

/// How to turn one writer value into the reader's encoding.
#[derive(Debug, Clone)]
enum Step {
    /// The same encoding on both sides (also int→long and string↔bytes): copied.
    Copy(Primitive),
    /// A numeric promotion that changes the encoding.
    Promote(Primitive, Primitive),
    Fixed(usize),
    /// Writer symbol index → reader symbol index ([`NO_SYMBOL`] where the reader has none), and the writer's
    /// symbols (for messages).
    Enum(Arc<[u32]>, Arc<[String]>),
    /// A writer value the reader cannot hold (projecting only): refused per value, skipped when diagnosing.
    Fail(Arc<str>, Node),
    /// Items' step and the fewest bytes a writer item takes.
    Array(Box<Step>, usize),
    /// Values' step and the fewest bytes a writer entry takes.
    Map(Box<Step>, usize),
    /// Writer union → reader union: per writer branch, the reader branch and its step.
    UnionToUnion(Arc<[(u32, Step)]>),
    /// Writer union → reader non-union: per writer branch, its step.
    UnionToValue(Arc<[Step]>),
    /// Writer non-union → reader union: the reader branch, then the step.
    ValueToUnion(u32, Box<Step>),
    /// A record plan in the resolver's arena (plans may refer to themselves: recursive types).
    Record(usize),
}

/// A writer enum symbol the reader's enum lacks, with no default to take its place.
const NO_SYMBOL: u32 = u32::MAX;

/// One value's part that a projection cannot write, with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the value, e.g. `/lines/2/status`.
    pub path: String,
    /// What the target schema lacks.
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", self.path, self.reason)
    }
}

#[derive(Debug, Clone)]
enum FieldSource {
    /// The `n`th kept writer field.
    Writer(usize),
    /// The reader's default, already encoded.
    Default(Arc<[u8]>),
}

#[derive(Debug, Clone, Default)]
struct RecordPlan {
    /// Whether the reader's encoding of this record is byte for byte the writer's (every writer field kept, in
    /// order, with the same encoding, and no defaults): then values are copied verbatim.
    identity: bool,
    /// Per writer field in writer order: its step if the reader keeps it, or the writer node to skip.
    writer_fields: Vec<Result<Step, Node>>,
    /// Per writer field: its schema, and whether the reader keeps its bytes unchanged (copied verbatim).
    writer_nodes: Vec<(Node, bool)>,
    /// Per writer field: its name (for the paths of violations).
    writer_names: Vec<String>,
    /// Reader fields in reader order.
    reader_fields: Vec<FieldSource>,
    /// Whether the kept writer fields appear in the reader in the same order (then no buffering is needed).
    in_order: bool,
}

/// How a top-level record is read, cheapest first.
#[derive(Debug, Clone)]
enum Shape {
    /// The reader's fields are the writer's first fields, unchanged: the reader's decoder reads the writer's body
    /// directly, then the writer's remaining fields (from this index) are skipped.
    Prefix(usize),
    /// The writer's fields all stay, unchanged and in order, and the reader adds fields with defaults after them:
    /// the body is checked by skipping through it, then copied with the defaults appended.
    Append(Arc<[u8]>),
    /// Anything else: transcoded field by field.
    Transcode,
}

/// A writer/reader pair's resolution, built once and used for every value.
#[derive(Debug, Clone)]
pub struct Resolver {
    writer: Arc<Schema>,
    root: Step,
    records: Vec<RecordPlan>,
    shape: Shape,
}

impl Resolver {
    /// A resolver of data written with `writer` for `reader`, or every reason it cannot be read.
    pub fn new(writer: &Schema, reader: &Schema) -> Result<Resolver, Unresolvable> {
        let breaks = check(reader, writer, &CheckOptions::default());
        if !breaks.is_empty() {
            return Err(Unresolvable { breaks, omitted: 0 });
        }
        Ok(Resolver::build(writer, reader))
    }

    /// A resolver that writes values of `writer` (a type's own schema) in `reader` (a registered schema), refused
    /// only when no value could be written. Breaks that only some values hit (an enum symbol or union branch the
    /// registered schema lacks, null where it requires a value) become per-value errors: see [`Self::violations`].
    pub fn projecting(writer: &Schema, reader: &Schema) -> Result<Resolver, Unresolvable> {
        let breaks = check(reader, writer, &CheckOptions::default());
        if breaks.iter().any(|b| !b.conditional) {
            return Err(Unresolvable { breaks, omitted: 0 });
        }
        Ok(Resolver::build(writer, reader))
    }

    fn build(writer: &Schema, reader: &Schema) -> Resolver {
        let mut b = Builder {
            writer,
            reader,
            records: Vec::new(),
            memo: HashMap::new(),
            checker: NodeChecker::new(reader, writer),
        };
        let root = b.step(&reader.root, &writer.root);
        let mut r = Resolver { writer: Arc::new(writer.clone()), root, records: b.records, shape: Shape::Transcode };
        r.mark_identities();
        r.shape = r.shape_of_root();
        r
    }

    /// Writes a body of the writer's schema (`body`, one whole value) in the reader's schema, appending to `out`.
    pub fn project(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if let Shape::Append(defaults) = &self.shape {
            out.extend_from_slice(body);
            out.extend_from_slice(defaults);
            return Ok(());
        }
        let mut input = body;
        self.transcode(&mut input, out)?;
        if input.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes(input.len())) }
    }

    /// Every part of the writer value `body` that the reader's schema has no place for, with its path (empty when
    /// [`project`](Self::project) succeeds). Slower than `project`: for the error path only.
    pub fn violations(&self, body: &[u8]) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut input = body;
        if let Err(e) = self.collect(&self.root, &mut input, &mut String::new(), &mut out) {
            out.push(Violation { path: "/".into(), reason: e.to_string() });
        }
        out
    }

    fn collect(
        &self,
        step: &Step,
        input: &mut &[u8],
        path: &mut String,
        out: &mut Vec<Violation>,
    ) -> Result<(), DecodeError> {
        let at = |path: &String| if path.is_empty() { "/".to_string() } else { path.clone() };
        match step {
            Step::Fail(reason, node) => {
                out.push(Violation { path: at(path), reason: reason.to_string() });
                skip(&self.writer, node, input)
            }
            Step::Enum(map, symbols) => {
                let i = enc::get_enum_index(input, map.len() as u32)? as usize;
                if map[i] == NO_SYMBOL {
                    out.push(Violation {
                        path: at(path),
                        reason: format!("the target enum has no symbol {}", excerpt(&symbols[i])),
                    });
                }
                Ok(())
            }
            Step::Array(items, min) => {
                let mut index = 0usize;
                let mut total = 0usize;
                loop {
                    let n = enc::get_array_block(input, *min, &mut total, enc::MAX_ZERO_SIZE_ITEMS)?;
                    if n == 0 {
                        return Ok(());
                    }
                    for _ in 0..n {
                        let len = path.len();
                        path.push_str(&format!("/{index}"));
                        self.collect(items, input, path, out)?;
                        path.truncate(len);
                        index += 1;
                    }
                }
            }
            Step::Map(values, min) => loop {
                let n = enc::get_block_count(input, *min)?;
                if n == 0 {
                    return Ok(());
                }
                for _ in 0..n {
                    let key = enc::get_str(input)?;
                    let len = path.len();
                    path.push('/');
                    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    self.collect(values, input, path, out)?;
                    path.truncate(len);
                }
            },
            Step::UnionToUnion(branches) => {
                let i = enc::get_union_index(input, branches.len() as u32)?;
                self.collect(&branches[i as usize].1, input, path, out)
            }
            Step::UnionToValue(branches) => {
                let i = enc::get_union_index(input, branches.len() as u32)?;
                self.collect(&branches[i as usize], input, path, out)
            }
            Step::ValueToUnion(_, inner) => self.collect(inner, input, path, out),
            Step::Record(plan) => {
                let _nested = enc::enter_nested()?;
                let plan = &self.records[*plan];
                for ((field, (node, _)), name) in
                    plan.writer_fields.iter().zip(&plan.writer_nodes).zip(&plan.writer_names)
                {
                    match field {
                        Ok(step) => {
                            let len = path.len();
                            path.push('/');
                            path.push_str(name);
                            self.collect(step, input, path, out)?;
                            path.truncate(len);
                        }
                        Err(_) => skip(&self.writer, node, input)?,
                    }
                }
                Ok(())
            }
            other => self.run(other, input, &mut Vec::new()),
        }
    }

    /// Marks the records whose encoding does not change (a fixpoint, since records may contain themselves).
    fn mark_identities(&mut self) {
        for plan in &mut self.records {
            plan.identity = true;
        }
        loop {
            let mut changed = false;
            for i in 0..self.records.len() {
                let plan = &self.records[i];
                let same = plan.in_order
                    && plan.writer_fields.iter().all(|f| matches!(f, Ok(step) if self.is_identity(step)))
                    && plan.reader_fields.iter().all(|f| matches!(f, FieldSource::Writer(_)));
                if plan.identity && !same {
                    self.records[i].identity = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for i in 0..self.records.len() {
            let verbatim: Vec<bool> =
                self.records[i].writer_fields.iter().map(|f| matches!(f, Ok(step) if self.is_identity(step))).collect();
            for (slot, v) in self.records[i].writer_nodes.iter_mut().zip(verbatim) {
                slot.1 = v;
            }
        }
    }

    /// Whether a step writes exactly the bytes it reads.
    fn is_identity(&self, step: &Step) -> bool {
        match step {
            Step::Copy(_) | Step::Fixed(_) => true,
            Step::Promote(..) | Step::UnionToValue(_) | Step::ValueToUnion(..) | Step::Fail(..) => false,
            Step::Enum(map, _) => map.iter().enumerate().all(|(i, r)| *r as usize == i),
            Step::Array(items, _) => self.is_identity(items),
            Step::Map(values, _) => self.is_identity(values),
            Step::UnionToUnion(branches) => {
                branches.iter().enumerate().all(|(i, (r, step))| *r as usize == i && self.is_identity(step))
            }
            Step::Record(i) => self.records[*i].identity,
        }
    }

    fn shape_of_root(&self) -> Shape {
        let Step::Record(root) = &self.root else { return Shape::Transcode };
        let plan = &self.records[*root];
        let kept = plan.writer_fields.iter().take_while(|f| matches!(f, Ok(s) if self.is_identity(s))).count();
        let rest_skipped = plan.writer_fields[kept..].iter().all(Result::is_err);
        let in_order =
            plan.reader_fields.iter().enumerate().all(|(i, f)| matches!(f, FieldSource::Writer(k) if *k == i));
        if in_order && rest_skipped && plan.reader_fields.len() == kept {
            return Shape::Prefix(kept);
        }
        let all_kept = kept == plan.writer_fields.len();
        let leading = plan.reader_fields.iter().take_while(|f| matches!(f, FieldSource::Writer(_))).count();
        let ordered = plan.reader_fields[..leading]
            .iter()
            .enumerate()
            .all(|(i, f)| matches!(f, FieldSource::Writer(k) if *k == i));
        let defaults: Option<Vec<u8>> = plan.reader_fields[leading..].iter().try_fold(Vec::new(), |mut acc, f| {
            if let FieldSource::Default(bytes) = f {
                acc.extend_from_slice(bytes);
                Some(acc)
            } else {
                None
            }
        });
        match defaults {
            Some(d) if all_kept && ordered && leading == kept => Shape::Append(d.into()),
            _ => Shape::Transcode,
        }
    }

    /// Reads the writer's `body` (one whole value) as the reader type `T`, with `scratch` for the reader-layout
    /// bytes when they must be built.
    pub fn read<T>(&self, body: &[u8], scratch: &mut Vec<u8>) -> Result<T, DecodeError>
    where
        T: for<'de> crate::codec::AvroDecode<'de>,
    {
        match &self.shape {
            Shape::Prefix(from) => {
                let mut input = body;
                let value = T::decode(&mut input)?;
                // The writer's root is a record: a Prefix shape is only built for one.
                if let Node::Named(id) = &self.writer.root
                    && let NamedKind::Record { fields } = &self.writer.named(*id).kind
                {
                    for f in &fields[*from..] {
                        skip(&self.writer, &f.schema, &mut input)?;
                    }
                }
                if input.is_empty() { Ok(value) } else { Err(DecodeError::TrailingBytes(input.len())) }
            }
            Shape::Append(defaults) => {
                let mut input = body;
                skip(&self.writer, &self.writer.root, &mut input)?;
                if !input.is_empty() {
                    return Err(DecodeError::TrailingBytes(input.len()));
                }
                scratch.clear();
                scratch.extend_from_slice(body);
                scratch.extend_from_slice(defaults);
                crate::codec::decode_exact(scratch)
            }
            Shape::Transcode => {
                scratch.clear();
                let mut input = body;
                self.transcode(&mut input, scratch)?;
                if !input.is_empty() {
                    return Err(DecodeError::TrailingBytes(input.len()));
                }
                crate::codec::decode_exact(scratch)
            }
        }
    }

    /// Appends to `out` the reader's encoding of the writer value at the start of `input`, advancing `input`.
    pub fn transcode(&self, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.run(&self.root, input, out)
    }

    fn run(&self, step: &Step, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        match step {
            Step::Copy(p) => copy(*p, input, out),
            Step::Promote(from, to) => {
                let v = match from {
                    Primitive::Int | Primitive::Long => enc::get_long(input)? as f64,
                    _ => f64::from(enc::get_float(input)?),
                };
                match to {
                    Primitive::Float => enc::put_float(out, v as f32),
                    _ => enc::put_double(out, v),
                }
                Ok(())
            }
            Step::Fixed(n) => {
                out.extend_from_slice(enc::take(input, *n)?);
                Ok(())
            }
            Step::Enum(map, symbols) => {
                let i = enc::get_enum_index(input, map.len() as u32)? as usize;
                if map[i] == NO_SYMBOL {
                    return Err(DecodeError::NotInReaderSchema {
                        reason: format!("the target enum has no symbol {}", excerpt(&symbols[i])),
                    });
                }
                enc::put_long(out, i64::from(map[i]));
                Ok(())
            }
            Step::Fail(reason, _) => Err(DecodeError::NotInReaderSchema { reason: reason.to_string() }),
            Step::Array(items, min) => self.blocks(input, out, *min, |r, input, out| r.run(items, input, out)),
            Step::Map(values, min) => self.blocks(input, out, *min, |r, input, out| {
                copy(Primitive::String, input, out)?;
                r.run(values, input, out)
            }),
            Step::UnionToUnion(branches) => {
                let i = enc::get_union_index(input, branches.len() as u32)?;
                let (reader_index, step) = &branches[i as usize];
                enc::put_long(out, i64::from(*reader_index));
                self.run(step, input, out)
            }
            Step::UnionToValue(branches) => {
                let i = enc::get_union_index(input, branches.len() as u32)?;
                self.run(&branches[i as usize], input, out)
            }
            Step::ValueToUnion(reader_index, step) => {
                enc::put_long(out, i64::from(*reader_index));
                self.run(step, input, out)
            }
            Step::Record(plan) => {
                let _nested = enc::enter_nested()?;
                self.record(&self.records[*plan], input, out)
            }
        }
    }

    /// Arrays and maps: every writer block's items, written as one block per writer block. Block counts are
    /// bounded as the decoder bounds them: by the input for items of at least `min_item` bytes, and in total for
    /// items of none.
    fn blocks(
        &self,
        input: &mut &[u8],
        out: &mut Vec<u8>,
        min_item: usize,
        item: impl Fn(&Self, &mut &[u8], &mut Vec<u8>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut total = 0usize;
        loop {
            let n = enc::get_array_block(input, min_item, &mut total, enc::MAX_ZERO_SIZE_ITEMS)?;
            if n == 0 {
                enc::put_block_end(out);
                return Ok(());
            }
            enc::put_block_count(out, n);
            for _ in 0..n {
                item(self, input, out)?;
            }
        }
    }

    fn record(&self, plan: &RecordPlan, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if plan.in_order {
            // Runs of fields the reader keeps unchanged are found by skipping through them and copied as one span.
            let mut span = *input;
            fn flush<'i>(span: &mut &'i [u8], input: &'i [u8], out: &mut Vec<u8>) {
                out.extend_from_slice(&span[..span.len() - input.len()]);
                *span = input;
            }
            let mut writer = plan.writer_fields.iter().zip(&plan.writer_nodes);
            for source in &plan.reader_fields {
                match source {
                    FieldSource::Default(bytes) => {
                        flush(&mut span, input, out);
                        out.extend_from_slice(bytes);
                    }
                    FieldSource::Writer(_) => {
                        for (field, (node, verbatim)) in writer.by_ref() {
                            match field {
                                Ok(_) if *verbatim => {
                                    skip(&self.writer, node, input)?;
                                    break;
                                }
                                Ok(step) => {
                                    flush(&mut span, input, out);
                                    self.run(step, input, out)?;
                                    span = input;
                                    break;
                                }
                                Err(node) => {
                                    flush(&mut span, input, out);
                                    skip(&self.writer, node, input)?;
                                    span = input;
                                }
                            }
                        }
                    }
                }
            }
            flush(&mut span, input, out);
            // What remains are writer fields the reader does not have (each kept one fed a reader field above).
            for (_, (node, _)) in writer {
                skip(&self.writer, node, input)?;
            }
            return Ok(());
        }
        // Reordered: transcode the kept writer fields aside, then write them in the reader's order.
        let mut aside = Vec::new();
        let mut ranges = Vec::new();
        for field in &plan.writer_fields {
            match field {
                Ok(step) => {
                    let start = aside.len();
                    self.run(step, input, &mut aside)?;
                    ranges.push(start..aside.len());
                }
                Err(node) => skip(&self.writer, node, input)?,
            }
        }
        for source in &plan.reader_fields {
            match source {
                FieldSource::Default(bytes) => out.extend_from_slice(bytes),
                FieldSource::Writer(k) => out.extend_from_slice(&aside[ranges[*k].clone()]),
            }
        }
        Ok(())
    }
}

/// Copies one value of a primitive whose encoding both sides share.
fn copy(p: Primitive, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    match p {
        Primitive::Null => {}
        Primitive::Boolean => enc::put_bool(out, enc::get_bool(input)?),
        Primitive::Int | Primitive::Long => enc::put_long(out, enc::get_long(input)?),
        Primitive::Float => out.extend_from_slice(enc::take(input, 4)?),
        Primitive::Double => out.extend_from_slice(enc::take(input, 8)?),
        Primitive::Bytes | Primitive::String => enc::put_bytes(out, enc::get_bytes(input)?),
    }
    Ok(())
}

/// Skips one value of `node` (a writer field the reader does not have).
fn skip(schema: &Schema, node: &Node, input: &mut &[u8]) -> Result<(), DecodeError> {
    match node {
        Node::Primitive(p, _) => match p {
            Primitive::Null => Ok(()),
            Primitive::Boolean => enc::get_bool(input).map(drop),
            Primitive::Int | Primitive::Long => enc::get_long(input).map(drop),
            Primitive::Float => enc::take(input, 4).map(drop),
            Primitive::Double => enc::take(input, 8).map(drop),
            Primitive::Bytes | Primitive::String => enc::get_bytes(input).map(drop),
        },
        Node::Array(items) => skip_blocks(input, schema.min_size(items), |input| skip(schema, items, input)),
        Node::Map(values) => skip_blocks(input, 1usize.saturating_add(schema.min_size(values)), |input| {
            enc::get_bytes(input)?;
            skip(schema, values, input)
        }),
        Node::Union(branches) => {
            let i = enc::get_union_index(input, branches.len() as u32)?;
            skip(schema, &branches[i as usize], input)
        }
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Fixed { size, .. } => enc::take(input, *size).map(drop),
            NamedKind::Enum { symbols, .. } => enc::get_enum_index(input, symbols.len() as u32).map(drop),
            NamedKind::Record { fields } => {
                let _nested = enc::enter_nested()?;
                fields.iter().try_for_each(|f| skip(schema, &f.schema, input))
            }
        },
    }
}

/// Skips an array's or a map's blocks. A block that gives its size in bytes is skipped whole; the others item by
/// item, with their counts bounded as the decoder bounds them (by the input for items of at least `min_item` bytes,
/// by [`enc::MAX_ZERO_SIZE_ITEMS`] over the whole value for items of none), so no count can make a skip spin.
fn skip_blocks(
    input: &mut &[u8],
    min_item: usize,
    mut item: impl FnMut(&mut &[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut total = 0usize;
    loop {
        let raw = enc::get_long(input)?;
        if raw == 0 {
            return Ok(());
        }
        if raw < 0 {
            // A negative count carries the block's byte size: skip it whole.
            let size = enc::get_long(input)?;
            let size = usize::try_from(size).map_err(|_| DecodeError::NegativeLength(size))?;
            enc::take(input, size)?;
            continue;
        }
        let n = usize::try_from(raw).map_err(|_| DecodeError::NegativeLength(raw))?;
        enc::check_array_block(n, input.len(), min_item, &mut total, enc::MAX_ZERO_SIZE_ITEMS)?;
        for _ in 0..n {
            item(input)?;
        }
    }
}

struct Builder<'a> {
    writer: &'a Schema,
    reader: &'a Schema,
    records: Vec<RecordPlan>,
    memo: HashMap<(NamedId, NamedId), usize>,
    /// Which union branch reads which writer type: one checker, its memo shared by every question.
    checker: NodeChecker<'a>,
}

impl Builder<'_> {
    /// The step for a pair the checker found compatible.
    fn step(&mut self, r: &Node, w: &Node) -> Step {
        match (r, w) {
            (Node::Union(rb), Node::Union(wb)) => {
                let branches: Vec<(u32, Step)> = wb
                    .iter()
                    .map(|b| match self.pick(rb, b) {
                        Some((i, rn)) => (i, self.step(rn, b)),
                        None => (0, self.fail(b)),
                    })
                    .collect();
                Step::UnionToUnion(branches.into())
            }
            (_, Node::Union(wb)) => Step::UnionToValue(
                wb.iter()
                    .map(|b| if self.checker.compatible(r, b) { self.step(r, b) } else { self.fail(b) })
                    .collect::<Vec<_>>()
                    .into(),
            ),
            (Node::Union(rb), _) => match self.pick(rb, w) {
                Some((i, rn)) => Step::ValueToUnion(i, Box::new(self.step(rn, w))),
                None => self.fail(w),
            },
            (Node::Primitive(rp, _), Node::Primitive(wp, _)) => {
                use Primitive::*;
                match (wp, rp) {
                    (a, b) if a == b => Step::Copy(*a),
                    (Int, Long) => Step::Copy(Long),
                    (String, Bytes) | (Bytes, String) => Step::Copy(String),
                    (a, b) => Step::Promote(*a, *b),
                }
            }
            (Node::Array(ri), Node::Array(wi)) => Step::Array(Box::new(self.step(ri, wi)), self.writer.min_size(wi)),
            (Node::Map(rv), Node::Map(wv)) => {
                Step::Map(Box::new(self.step(rv, wv)), 1usize.saturating_add(self.writer.min_size(wv)))
            }
            (Node::Named(rid), Node::Named(wid)) => self.named(*rid, *wid),
            // The checker refused every other pair.
            _ => Step::Copy(Primitive::Null),
        }
    }

    /// The reader branch for writer node `w`: the same type by name first, then the first compatible one; `None`
    /// when no branch can read it (projecting only: the checker refused such pairs otherwise).
    fn pick<'n>(&mut self, branches: &'n [Node], w: &Node) -> Option<(u32, &'n Node)> {
        let same = branches.iter().position(|b| match (b, w) {
            (Node::Named(r), Node::Named(w)) => {
                let (r, w) = (self.reader.named(*r), self.writer.named(*w));
                r.name.name == w.name.name || r.aliases.contains(&w.name)
            }
            (Node::Primitive(r, _), Node::Primitive(w, _)) => r == w,
            (Node::Array(_), Node::Array(_)) | (Node::Map(_), Node::Map(_)) => true,
            _ => false,
        });
        let i = match same {
            Some(i) if self.checker.compatible(&branches[i], w) => i,
            _ => branches.iter().position(|b| self.checker.compatible(b, w))?,
        };
        Some((i as u32, &branches[i]))
    }

    /// A step refusing writer values of `w`, which the reader has no place for.
    fn fail(&self, w: &Node) -> Step {
        let reason = match w {
            Node::Primitive(Primitive::Null, _) => "null where the target schema requires a value".to_string(),
            Node::Named(id) => {
                format!("the target schema has no place for a {}", excerpt(&self.writer.named(*id).name.full()))
            }
            Node::Primitive(p, _) => format!("the target schema has no place for a {}", p.name()),
            Node::Array(_) => "the target schema has no place for an array".to_string(),
            Node::Map(_) => "the target schema has no place for a map".to_string(),
            Node::Union(_) => "the target schema has no place for a union".to_string(),
        };
        Step::Fail(reason.into(), w.clone())
    }

    fn named(&mut self, rid: NamedId, wid: NamedId) -> Step {
        let (rt, wt) = (self.reader.named(rid), self.writer.named(wid));
        match (&rt.kind, &wt.kind) {
            (NamedKind::Fixed { size, .. }, _) => Step::Fixed(*size),
            (NamedKind::Enum { symbols: rs, default }, NamedKind::Enum { symbols: ws, .. }) => {
                let fallback =
                    default.as_ref().and_then(|d| rs.iter().position(|s| s == d)).map_or(NO_SYMBOL, |i| i as u32);
                let map: Vec<u32> =
                    ws.iter().map(|s| rs.iter().position(|r| r == s).map_or(fallback, |i| i as u32)).collect();
                Step::Enum(map.into(), ws.clone().into())
            }
            (NamedKind::Record { fields: rf }, NamedKind::Record { fields: wf }) => {
                if let Some(&i) = self.memo.get(&(rid, wid)) {
                    return Step::Record(i);
                }
                let index = self.records.len();
                self.records.push(RecordPlan::default());
                self.memo.insert((rid, wid), index);
                // Which reader field each writer field feeds.
                let by_name: HashMap<&str, usize> = rf.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
                let mut by_alias: HashMap<&str, usize> = HashMap::new();
                for (i, f) in rf.iter().enumerate().rev() {
                    for a in &f.aliases {
                        by_alias.insert(a.as_str(), i);
                    }
                }
                let reader_of = |g: &crate::schema::Field| {
                    by_name.get(g.name.as_str()).or_else(|| by_alias.get(g.name.as_str())).copied()
                };
                let (rf, wf) = (rf.clone(), wf.clone());
                let writer_nodes = wf.iter().map(|g| (g.schema.clone(), false)).collect();
                let writer_names = wf.iter().map(|g| g.name.clone()).collect();
                let mut writer_fields = Vec::with_capacity(wf.len());
                let mut kept_for_reader: Vec<Option<usize>> = vec![None; rf.len()];
                let mut kept = 0;
                for g in &wf {
                    match reader_of(g) {
                        Some(ri) if kept_for_reader[ri].is_none() => {
                            writer_fields.push(Ok(self.step(&rf[ri].schema, &g.schema)));
                            kept_for_reader[ri] = Some(kept);
                            kept += 1;
                        }
                        _ => writer_fields.push(Err(g.schema.clone())),
                    }
                }
                let reader_fields: Vec<FieldSource> = rf
                    .iter()
                    .zip(&kept_for_reader)
                    .map(|(f, k)| match k {
                        Some(k) => FieldSource::Writer(*k),
                        None => {
                            let mut bytes = Vec::new();
                            if let Some(d) = &f.default {
                                encode_default(self.reader, &f.schema, d, &mut bytes);
                            }
                            FieldSource::Default(bytes.into())
                        }
                    })
                    .collect();
                let order: Vec<usize> = reader_fields
                    .iter()
                    .filter_map(|s| if let FieldSource::Writer(k) = s { Some(*k) } else { None })
                    .collect();
                let in_order = order.windows(2).all(|w| w[0] < w[1]);
                self.records[index] =
                    RecordPlan { identity: false, writer_fields, writer_nodes, writer_names, reader_fields, in_order };
                Step::Record(index)
            }
            _ => Step::Copy(Primitive::Null),
        }
    }
}

/// Encodes a field default (JSON, already validated by the parser) as the reader's binary encoding of `node`.
fn encode_default(schema: &Schema, node: &Node, value: &Value, out: &mut Vec<u8>) {
    match node {
        Node::Primitive(p, _) => match p {
            Primitive::Null => {}
            Primitive::Boolean => enc::put_bool(out, value.as_bool().unwrap_or_default()),
            Primitive::Int | Primitive::Long => enc::put_long(out, value.as_i64().unwrap_or_default()),
            Primitive::Float => enc::put_float(out, value.as_f64().unwrap_or_default() as f32),
            Primitive::Double => enc::put_double(out, value.as_f64().unwrap_or_default()),
            Primitive::String => enc::put_str(out, value.as_str().unwrap_or_default()),
            // Bytes defaults are strings whose code points 0-255 are the bytes.
            Primitive::Bytes => enc::put_bytes(out, &latin1(value)),
        },
        Node::Array(items) => {
            let a = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if !a.is_empty() {
                enc::put_block_count(out, a.len());
                a.iter().for_each(|v| encode_default(schema, items, v, out));
            }
            enc::put_block_end(out);
        }
        Node::Map(values) => {
            if let Some(m) = value.as_object().filter(|m| !m.is_empty()) {
                enc::put_block_count(out, m.len());
                for (k, v) in m {
                    enc::put_str(out, k);
                    encode_default(schema, values, v, out);
                }
            }
            enc::put_block_end(out);
        }
        Node::Union(branches) => {
            // The first branch the default is a value of (Java 1.12 accepts a match with any branch).
            let i = branches.iter().position(|b| fits(schema, b, value)).unwrap_or(0);
            enc::put_union_index(out, i as u32);
            encode_default(schema, &branches[i], value, out);
        }
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Fixed { size, .. } => {
                let mut bytes = latin1(value);
                bytes.resize(*size, 0);
                out.extend_from_slice(&bytes);
            }
            NamedKind::Enum { symbols, .. } => {
                let i = symbols.iter().position(|s| Some(s.as_str()) == value.as_str()).unwrap_or(0);
                enc::put_long(out, i as i64);
            }
            NamedKind::Record { fields } => {
                for f in fields {
                    match value.get(&f.name).or(f.default.as_ref()) {
                        Some(v) => encode_default(schema, &f.schema, v, out),
                        None => encode_default(schema, &f.schema, &Value::Null, out),
                    }
                }
            }
        },
    }
}

fn latin1(value: &Value) -> Vec<u8> {
    value.as_str().unwrap_or_default().chars().map(|c| u32::from(c).min(255) as u8).collect()
}

/// Whether `value` is a value of `node` (for picking a union default's branch).
fn fits(schema: &Schema, node: &Node, value: &Value) -> bool {
    match node {
        Node::Primitive(p, _) => match p {
            Primitive::Null => value.is_null(),
            Primitive::Boolean => value.is_boolean(),
            Primitive::Int | Primitive::Long => value.is_i64(),
            Primitive::Float | Primitive::Double => value.is_number(),
            Primitive::Bytes | Primitive::String => value.is_string(),
        },
        Node::Array(_) => value.is_array(),
        Node::Map(_) => value.is_object(),
        Node::Union(_) => false,
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Fixed { .. } => value.is_string(),
            NamedKind::Enum { symbols, .. } => value.as_str().is_some_and(|s| symbols.iter().any(|x| x == s)),
            NamedKind::Record { .. } => value.is_object(),
        },
    }
}
