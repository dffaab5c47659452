//! Schema compatibility: can data written with one schema be read with another?
//!
//! [`check`] compares a reader and a writer schema by the Avro specification's resolution rules and returns every
//! incompatibility, each with a rule, a path by names, both fragments and a message that says what to do. Its
//! verdict (compatible or not) is Apache Avro Java 1.12's `SchemaCompatibility`, the checker the registries run:
//!
//! - names: unqualified names compared (a namespace change is compatible), or a reader alias naming the writer;
//! - promotions int→long→float→double, long→float/double, float→double, string↔bytes;
//! - a reader field missing from the writer needs a default; writer fields the reader lacks are skipped;
//! - writer enum symbols the reader lacks need the reader's enum default;
//! - unions: every writer branch must be readable by some reader branch;
//! - recursion: a pair of named types being compared is compatible unless proven otherwise.
//!
//! Where Java's reports fall short, these go further (the verdict stays Java's): every break, not the first; paths
//! by names (`/fields/items/items/fields/sku`, union branches by full name) instead of positions; the real cause
//! inside a union branch (an `Option<Address>` whose `Address` gained a field without default says so); a named
//! type compared by its definition wherever it is defined, and a break in it reported at each use.
//!
//! [`CheckOptions::semantic`] adds rules Java does not check: a decimal's precision or scale changed, a logical
//! type changed (millis↔micros, uuid↔string), a named type's namespace changed.
//!
//! [`check_level`] applies a compatibility level over an ordered history of versions.

use std::collections::HashMap;
use std::fmt;

use crate::schema::{LogicalType, MAX_DEPTH, NamedId, NamedKind, Node, Primitive, Schema, parse::excerpt};

/// A rule that a reader/writer pair can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A named type has another name, and the reader has no alias for the writer's.
    NameMismatch,
    /// Two fixed types differ in size.
    FixedSizeMismatch,
    /// The writer has enum symbols the reader lacks, and the reader has no enum default.
    MissingEnumSymbols,
    /// A reader field is missing from the writer and has no default.
    ReaderFieldMissingDefaultValue,
    /// The types differ and no promotion applies.
    TypeMismatch,
    /// A writer type (or union branch) that no reader union branch can read.
    MissingUnionBranch,
    /// Semantic (opt-in): a decimal's precision or scale changed; values would be read at another scale.
    DecimalChanged,
    /// Semantic (opt-in): a logical type changed or appeared or disappeared (millis↔micros, uuid↔string).
    LogicalTypeChanged,
    /// Semantic (opt-in): a named type's namespace changed (Avro ignores it; generated code and subjects may not).
    NamespaceChanged,
    /// The two schemas, compared together, nest deeper than [`MAX_DEPTH`] levels (possible when both are recursive
    /// in different ways): the comparison stops there rather than exhaust the stack. Never conditional.
    TooDeep,
}

impl Rule {
    /// The rule's ID: Java's `SchemaIncompatibilityType` names for the six Avro rules.
    pub fn id(self) -> &'static str {
        match self {
            Rule::NameMismatch => "NAME_MISMATCH",
            Rule::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            Rule::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            Rule::ReaderFieldMissingDefaultValue => "READER_FIELD_MISSING_DEFAULT_VALUE",
            Rule::TypeMismatch => "TYPE_MISMATCH",
            Rule::MissingUnionBranch => "MISSING_UNION_BRANCH",
            Rule::DecimalChanged => "DECIMAL_CHANGED",
            Rule::LogicalTypeChanged => "LOGICAL_TYPE_CHANGED",
            Rule::NamespaceChanged => "NAMESPACE_CHANGED",
            Rule::TooDeep => "TOO_DEEP",
        }
    }

    /// Whether the rule is one of the opt-in semantic rules (Java and the registries do not check them).
    pub fn is_semantic(self) -> bool {
        matches!(self, Rule::DecimalChanged | Rule::LogicalTypeChanged | Rule::NamespaceChanged)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One incompatibility between a reader and a writer schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// The rule broken.
    pub rule: Rule,
    /// Where, by names in the reader schema: `/fields/items/items/fields/sku`; a union branch by its full name
    /// (`/fields/home/shop.Address/fields/zip`); the rule's attribute last where it has one (`/name`, `/size`,
    /// `/symbols`).
    pub path: String,
    /// The reader's schema there (a short fragment: named types by full name).
    pub reader: String,
    /// The writer's schema there.
    pub writer: String,
    /// What is wrong and what to do about it.
    pub message: String,
    /// Whether only some values break: those that take a writer union branch or use an enum symbol the reader
    /// cannot read. A writer (a serializer projecting into a registered schema) can still write the other values.
    pub conditional: bool,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.rule, self.path, self.message)
    }
}

/// What [`check`] looks at beyond Java's rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Also report [`Rule::DecimalChanged`], [`Rule::LogicalTypeChanged`] and [`Rule::NamespaceChanged`].
    pub semantic: bool,
}

/// Every incompatibility of reading data written with `writer` using `reader`; empty when compatible.
///
/// ```
/// use typed_kafka_avro::compat::{check, CheckOptions, Rule};
/// use typed_kafka_avro::schema::Schema;
///
/// let v1 = Schema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#)?;
/// let v2 = Schema::parse(
///     r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}"#,
/// )?;
/// // v2 reads v1's data? `a` is promoted, but `b` has no default.
/// let found = check(&v2, &v1, &CheckOptions::default());
/// assert_eq!(found.len(), 1);
/// assert_eq!((found[0].rule, found[0].path.as_str()), (Rule::ReaderFieldMissingDefaultValue, "/fields/b"));
/// # Ok::<(), typed_kafka_avro::SchemaError>(())
/// ```
pub fn check(reader: &Schema, writer: &Schema, options: &CheckOptions) -> Vec<Incompatibility> {
    let mut checker = Checker::new(reader, writer, *options);
    let mut out = Vec::new();
    checker.node(&reader.root, &writer.root, "", &mut out);
    out
}

/// Compatibility of nodes of two schemas, one pair at a time, with one memo of named pairs across calls: what the
/// resolver asks for each union branch.
pub(crate) struct NodeChecker<'a>(Checker<'a>);

impl<'a> NodeChecker<'a> {
    pub(crate) fn new(reader: &'a Schema, writer: &'a Schema) -> Self {
        NodeChecker(Checker::new(reader, writer, CheckOptions::default()))
    }

    /// Whether data of writer node `w` can be read as reader node `r`.
    pub(crate) fn compatible(&mut self, r: &Node, w: &Node) -> bool {
        self.0.may_read(r, w) && self.0.compatible(r, w)
    }
}

/// The verdict of a pair of named types: being compared (compatible unless proven otherwise, as Java has it), or
/// done with its findings relative to the pair (re-rooted at each use).
enum Memo {
    InProgress,
    Done(Vec<Incompatibility>),
}

struct Checker<'a> {
    reader: &'a Schema,
    writer: &'a Schema,
    options: CheckOptions,
    memo: HashMap<(NamedId, NamedId), Memo>,
    /// How many writer union branches the current position is inside (findings there are conditional).
    in_branch: u32,
    /// How many nodes deep the comparison is.
    depth: usize,
}

fn promotable(reader: Primitive, writer: Primitive) -> bool {
    use Primitive::*;
    reader == writer
        || matches!(
            (writer, reader),
            (Int, Long | Float | Double) | (Long, Float | Double) | (Float, Double) | (String, Bytes) | (Bytes, String)
        )
}

impl<'a> Checker<'a> {
    fn new(reader: &'a Schema, writer: &'a Schema, options: CheckOptions) -> Self {
        Checker { reader, writer, options, memo: HashMap::new(), in_branch: 0, depth: 0 }
    }

    /// Whether `r` and `w` are the same kind of type (for named types: the same name, or a reader alias for the
    /// writer's), which compatibility requires.
    fn may_read(&self, r: &Node, w: &Node) -> bool {
        match (r, w) {
            (Node::Named(r), Node::Named(w)) => {
                let (r, w) = (self.reader.named(*r), self.writer.named(*w));
                std::mem::discriminant(&r.kind) == std::mem::discriminant(&w.kind)
                    && (r.name.name == w.name.name || r.aliases.contains(&w.name))
            }
            (Node::Primitive(r, _), Node::Primitive(w, _)) => promotable(*r, *w),
            (Node::Array(_), Node::Array(_)) | (Node::Map(_), Node::Map(_)) => true,
            // A reader union reads a writer value if a branch does; a writer union is read branch by branch.
            (Node::Union(_), _) | (_, Node::Union(_)) => true,
            _ => false,
        }
    }

    /// A node's JSON for a finding: at most an excerpt, however large the type (a union of many branches).
    fn fragment(&self, schema: &Schema, node: &Node) -> String {
        let mut out = String::new();
        self.write_fragment(schema, node, &mut out);
        if out.len() > EXCERPT_BYTES { excerpt(&out) } else { out }
    }

    fn write_fragment(&self, schema: &Schema, node: &Node, out: &mut String) {
        use std::fmt::Write as _;
        if out.len() > EXCERPT_BYTES {
            return;
        }
        match node {
            Node::Primitive(p, None) => _ = write!(out, "\"{}\"", p.name()),
            Node::Primitive(p, Some(LogicalType::Decimal { precision, scale })) => {
                _ = write!(
                    out,
                    r#"{{"type":"{}","logicalType":"decimal","precision":{precision},"scale":{scale}}}"#,
                    p.name()
                )
            }
            Node::Primitive(p, Some(l)) => _ = write!(out, r#"{{"type":"{}","logicalType":"{}"}}"#, p.name(), l.name()),
            Node::Array(items) => {
                out.push_str(r#"{"type":"array","items":"#);
                self.write_fragment(schema, items, out);
                out.push('}');
            }
            Node::Map(values) => {
                out.push_str(r#"{"type":"map","values":"#);
                self.write_fragment(schema, values, out);
                out.push('}');
            }
            Node::Union(branches) => {
                out.push('[');
                for (i, b) in branches.iter().enumerate() {
                    if out.len() > EXCERPT_BYTES {
                        break;
                    }
                    if i > 0 {
                        out.push(',');
                    }
                    self.write_fragment(schema, b, out);
                }
                out.push(']');
            }
            Node::Named(id) => {
                let name = &schema.named(*id).name;
                _ = write!(out, "\"{}\"", excerpt(&name.full()));
            }
        }
    }

    fn found(&self, out: &mut Vec<Incompatibility>, rule: Rule, path: String, r: &Node, w: &Node, message: String) {
        let reader = self.fragment(self.reader, r);
        let writer = self.fragment(self.writer, w);
        let conditional = (self.in_branch > 0 || rule == Rule::MissingEnumSymbols) && rule != Rule::TooDeep;
        let path = if path.is_empty() { "/".into() } else { cut(path) };
        out.push(Incompatibility { rule, path, reader, writer, message: cut(message), conditional });
    }

    /// A short name for a union branch in a path: its full name, or its type.
    fn branch_name(schema: &Schema, node: &Node) -> String {
        match node {
            Node::Primitive(p, _) => p.name().to_string(),
            Node::Array(_) => "array".to_string(),
            Node::Map(_) => "map".to_string(),
            Node::Union(_) => "union".to_string(),
            Node::Named(id) => schema.named(*id).name.full(),
        }
    }

    fn compatible(&mut self, r: &Node, w: &Node) -> bool {
        let mut scratch = Vec::new();
        self.node(r, w, "", &mut scratch);
        scratch.iter().all(|i| i.rule.is_semantic())
    }

    /// The reader branch that is "the same type" as writer node `w` (same kind and, for named types, same name or
    /// a reader alias for it): where the real cause lies when no branch is compatible.
    fn counterpart<'n>(&self, branches: &'n [Node], w: &Node) -> Option<&'n Node> {
        branches.iter().find(|b| match (b, w) {
            (Node::Named(r), Node::Named(w)) => {
                let (r, w) = (self.reader.named(*r), self.writer.named(*w));
                std::mem::discriminant(&r.kind) == std::mem::discriminant(&w.kind)
                    && (r.name.name == w.name.name || r.aliases.contains(&w.name))
            }
            (Node::Primitive(r, _), Node::Primitive(w, _)) => r == w,
            (Node::Array(_), Node::Array(_)) | (Node::Map(_), Node::Map(_)) => true,
            _ => false,
        })
    }

    /// A writer node (not a union) read by a reader union: compatible if any branch reads it; otherwise the
    /// counterpart branch's own findings (at `path/<reader branch>`), or a missing branch (at `path`, with the
    /// writer branch's name when it came from a writer union).
    fn read_by_union(
        &mut self,
        branches: &[Node],
        r: &Node,
        w: &Node,
        path: &str,
        from_writer_union: bool,
        out: &mut Vec<Incompatibility>,
    ) {
        if let Some(b) = branches.iter().find(|b| self.may_read(b, w) && self.compatible(b, w)) {
            // Semantic findings of the branch that would be used (the first compatible one), if asked for.
            if self.options.semantic {
                let sub = format!("{path}/{}", Self::branch_name(self.reader, b));
                let mut found = Vec::new();
                self.node(b, w, &sub, &mut found);
                out.extend(found.into_iter().filter(|i| i.rule.is_semantic()));
            }
            return;
        }
        match self.counterpart(branches, w) {
            Some(b) => {
                let sub = format!("{path}/{}", Self::branch_name(self.reader, b));
                self.node(b, w, &sub, out);
            }
            None => {
                let writer_type = Self::branch_name(self.writer, w);
                let at = if from_writer_union { format!("{path}/{writer_type}") } else { path.to_string() };
                self.found(
                    out,
                    Rule::MissingUnionBranch,
                    at,
                    r,
                    w,
                    format!("the reader's union has no branch for the writer's {writer_type}: add one"),
                );
            }
        }
    }

    fn node(&mut self, r: &Node, w: &Node, path: &str, out: &mut Vec<Incompatibility>) {
        if self.depth >= MAX_DEPTH {
            self.found(
                out,
                Rule::TooDeep,
                path.to_string(),
                r,
                w,
                format!(
                    "the schemas nest more than {MAX_DEPTH} levels deep here, compared together: make them shallower"
                ),
            );
            return;
        }
        self.depth += 1;
        self.node_within_depth(r, w, path, out);
        self.depth -= 1;
    }

    fn node_within_depth(&mut self, r: &Node, w: &Node, path: &str, out: &mut Vec<Incompatibility>) {
        match (r, w) {
            (_, Node::Union(wb)) => {
                // Every writer branch must be readable; a break in one affects only values that take it.
                self.in_branch += 1;
                for b in wb {
                    match r {
                        Node::Union(rb) => self.read_by_union(rb, r, b, path, true, out),
                        _ => self.node(r, b, &format!("{path}/{}", Self::branch_name(self.writer, b)), out),
                    }
                }
                self.in_branch -= 1;
            }
            (Node::Union(rb), _) => self.read_by_union(rb, r, w, path, false, out),
            (Node::Primitive(rp, rl), Node::Primitive(wp, wl)) => {
                if !promotable(*rp, *wp) {
                    self.found(
                        out,
                        Rule::TypeMismatch,
                        path.to_string(),
                        r,
                        w,
                        format!(
                            "the reader's {} cannot read the writer's {}: keep the type, or use one it promotes to",
                            rp.name(),
                            wp.name()
                        ),
                    );
                } else if self.options.semantic {
                    self.logical(*rl, *wl, r, w, path, out);
                }
            }
            (Node::Array(ri), Node::Array(wi)) => self.node(ri, wi, &format!("{path}/items"), out),
            (Node::Map(rv), Node::Map(wv)) => self.node(rv, wv, &format!("{path}/values"), out),
            (Node::Named(rid), Node::Named(wid)) => self.named(*rid, *wid, r, w, path, out),
            _ => {
                let (rt, wt) = (Self::branch_name(self.reader, r), Self::branch_name(self.writer, w));
                self.found(
                    out,
                    Rule::TypeMismatch,
                    path.to_string(),
                    r,
                    w,
                    format!("the reader's {rt} cannot read the writer's {wt}: keep the type"),
                );
            }
        }
    }

    fn logical(
        &self,
        rl: Option<LogicalType>,
        wl: Option<LogicalType>,
        r: &Node,
        w: &Node,
        path: &str,
        out: &mut Vec<Incompatibility>,
    ) {
        match (rl, wl) {
            (a, b) if a == b => {}
            (Some(LogicalType::Decimal { .. }), Some(LogicalType::Decimal { .. })) => self.found(
                out,
                Rule::DecimalChanged,
                path.to_string(),
                r,
                w,
                "the decimal's precision or scale changed: values would be read at another scale; keep them".into(),
            ),
            (a, b) => {
                let name = |l: Option<LogicalType>| l.map_or("none", LogicalType::name);
                self.found(
                    out,
                    Rule::LogicalTypeChanged,
                    path.to_string(),
                    r,
                    w,
                    format!(
                        "the logical type changed from {} to {}: the same numbers would mean other values; keep it",
                        name(b),
                        name(a)
                    ),
                );
            }
        }
    }

    fn named(&mut self, rid: NamedId, wid: NamedId, r: &Node, w: &Node, path: &str, out: &mut Vec<Incompatibility>) {
        match self.memo.get(&(rid, wid)) {
            Some(Memo::InProgress) => return,
            Some(Memo::Done(found)) => {
                let outer = self.in_branch > 0;
                out.extend(found.iter().map(|i| Incompatibility {
                    path: rerooted(path, &i.path),
                    conditional: (i.conditional || outer) && i.rule != Rule::TooDeep,
                    ..i.clone()
                }));
                return;
            }
            None => {}
        }
        self.memo.insert((rid, wid), Memo::InProgress);
        // Findings are kept relative to the type (conditional on branches inside it), then placed at this use.
        let outer = std::mem::replace(&mut self.in_branch, 0);
        let mut found = Vec::new();
        self.named_definition(rid, wid, r, w, &mut found);
        self.in_branch = outer;
        out.extend(found.iter().map(|i| Incompatibility {
            path: rerooted(path, &i.path),
            conditional: (i.conditional || outer > 0) && i.rule != Rule::TooDeep,
            ..i.clone()
        }));
        self.memo.insert((rid, wid), Memo::Done(found));
    }

    /// Compares two named types' definitions; paths relative to the named type.
    fn named_definition(&mut self, rid: NamedId, wid: NamedId, r: &Node, w: &Node, out: &mut Vec<Incompatibility>) {
        let (rt, wt) = (self.reader.named(rid).clone(), self.writer.named(wid).clone());
        let same_kind = std::mem::discriminant(&rt.kind) == std::mem::discriminant(&wt.kind);
        if !same_kind {
            let kind = |k: &NamedKind| match k {
                NamedKind::Record { .. } => "record",
                NamedKind::Enum { .. } => "enum",
                NamedKind::Fixed { .. } => "fixed",
            };
            self.found(
                out,
                Rule::TypeMismatch,
                String::new(),
                r,
                w,
                format!(
                    "the reader's {} {} cannot read the writer's {} {}",
                    kind(&rt.kind),
                    rt.name,
                    kind(&wt.kind),
                    wt.name
                ),
            );
            return;
        }
        if rt.name.name != wt.name.name && !rt.aliases.contains(&wt.name) {
            self.found(
                out,
                Rule::NameMismatch,
                "/name".into(),
                r,
                w,
                format!(
                    "the writer's type is {}: keep the name, or give the reader the alias \"{}\"",
                    wt.name, wt.name
                ),
            );
        } else if self.options.semantic && rt.name.name == wt.name.name && rt.name.namespace != wt.name.namespace {
            self.found(
                out,
                Rule::NamespaceChanged,
                "/name".into(),
                r,
                w,
                format!("the namespace changed from {:?} to {:?}: keep it", wt.name.namespace, rt.name.namespace),
            );
        }
        match (&rt.kind, &wt.kind) {
            (NamedKind::Record { fields: rf }, NamedKind::Record { fields: wf }) => {
                let by_name: HashMap<&str, &crate::schema::Field> = wf.iter().map(|g| (g.name.as_str(), g)).collect();
                for f in rf {
                    let matched = by_name
                        .get(f.name.as_str())
                        .or_else(|| f.aliases.iter().find_map(|a| by_name.get(a.as_str())))
                        .copied();
                    let sub = format!("/fields/{}", escape(&f.name));
                    match matched {
                        Some(g) => self.node(&f.schema, &g.schema, &sub, out),
                        None if f.default.is_some() => {}
                        None => self.found(
                            out,
                            Rule::ReaderFieldMissingDefaultValue,
                            sub,
                            &f.schema,
                            w,
                            format!(
                                "field {} is not in the writer's {} and has no default: give it a default",
                                f.name, wt.name
                            ),
                        ),
                    }
                }
            }
            (NamedKind::Enum { symbols: rs, default }, NamedKind::Enum { symbols: ws, .. }) => {
                let mut missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
                if !missing.is_empty() && default.is_none() {
                    missing.sort();
                    let list = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                    self.found(
                        out,
                        Rule::MissingEnumSymbols,
                        "/symbols".into(),
                        r,
                        w,
                        format!(
                            "the reader lacks the writer's symbols [{list}]: keep them, or give the enum a default"
                        ),
                    );
                }
            }
            (NamedKind::Fixed { size: rs, logical: rl }, NamedKind::Fixed { size: ws, logical: wl }) => {
                if rs != ws {
                    self.found(
                        out,
                        Rule::FixedSizeMismatch,
                        "/size".into(),
                        r,
                        w,
                        format!("expected size {ws}, found {rs}: keep the size"),
                    );
                } else if self.options.semantic {
                    self.logical(*rl, *wl, r, w, "", out);
                }
            }
            _ => {}
        }
    }
}

/// `text`, cut to [`MESSAGE_BYTES`] (names in it may be as long as a registry answer).
fn cut(text: String) -> String {
    if text.len() <= MESSAGE_BYTES {
        return text;
    }
    let mut end = MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Longest message or path a finding carries.
const MESSAGE_BYTES: usize = 512;

/// Longest fragment of a type a finding quotes whole.
const EXCERPT_BYTES: usize = 240;

/// `inner` (a path relative to a named type) at `prefix`.
fn rerooted(prefix: &str, inner: &str) -> String {
    cut(match (prefix, inner) {
        ("", "") => "/".to_string(),
        ("", i) => i.to_string(),
        (p, "/") | (p, "") => p.to_string(),
        (p, i) => format!("{p}{i}"),
    })
}

/// A JSON Pointer token (names are Avro names, so this only matters for union branch names with dots: none).
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// A schema registry's compatibility level: which versions a new schema is checked against, and in which
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    /// The new schema reads data written with the last one.
    Backward,
    /// ... with every earlier one.
    BackwardTransitive,
    /// The last schema reads data written with the new one.
    Forward,
    /// ... every earlier one does.
    ForwardTransitive,
    /// Backward and forward.
    Full,
    /// Backward and forward against every earlier version.
    FullTransitive,
    /// No checks.
    None,
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
            CompatibilityLevel::None => "NONE",
        })
    }
}

impl std::str::FromStr for CompatibilityLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "BACKWARD" => CompatibilityLevel::Backward,
            "BACKWARD_TRANSITIVE" => CompatibilityLevel::BackwardTransitive,
            "FORWARD" => CompatibilityLevel::Forward,
            "FORWARD_TRANSITIVE" => CompatibilityLevel::ForwardTransitive,
            "FULL" => CompatibilityLevel::Full,
            "FULL_TRANSITIVE" => CompatibilityLevel::FullTransitive,
            "NONE" => CompatibilityLevel::None,
            _ => return Err(format!("unknown compatibility level {s:?}")),
        })
    }
}

/// Which way data flows in one check of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The new schema reads data written with an earlier version (BACKWARD).
    NewReadsOld,
    /// An earlier version reads data written with the new schema (FORWARD).
    OldReadsNew,
}

/// The incompatibilities against one earlier version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFinding {
    /// The earlier version's position in the history given (0 = oldest).
    pub index: usize,
    /// Which side read which.
    pub direction: Direction,
    /// What breaks (paths by names in the reading side's schema).
    pub incompatibilities: Vec<Incompatibility>,
}

/// Checks `new` against `history` (oldest first) under `level`: every failing version and direction, each with
/// every incompatibility. Empty when `new` may be registered.
pub fn check_level(
    new: &Schema,
    history: &[Schema],
    level: CompatibilityLevel,
    options: &CheckOptions,
) -> Vec<VersionFinding> {
    use CompatibilityLevel as L;
    let (backward, forward, transitive) = match level {
        L::None => return Vec::new(),
        L::Backward => (true, false, false),
        L::BackwardTransitive => (true, false, true),
        L::Forward => (false, true, false),
        L::ForwardTransitive => (false, true, true),
        L::Full => (true, true, false),
        L::FullTransitive => (true, true, true),
    };
    let first = if transitive { 0 } else { history.len().saturating_sub(1) };
    let mut out = Vec::new();
    for (index, old) in history.iter().enumerate().skip(first) {
        for (direction, on) in [(Direction::NewReadsOld, backward), (Direction::OldReadsNew, forward)] {
            if !on {
                continue;
            }
            let found = match direction {
                Direction::NewReadsOld => check(new, old, options),
                Direction::OldReadsNew => check(old, new, options),
            };
            if !found.is_empty() {
                out.push(VersionFinding { index, direction, incompatibilities: found });
            }
        }
    }
    out
}
