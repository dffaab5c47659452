//! The parsed form of a rule's expression: what the checker types and what code is generated from.

use crate::Span;

/// An expression and the bytes of the rule's text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in the rule's text.
    pub span: Span,
    /// The height of the tree under it (a leaf is 1).
    pub(crate) height: u32,
    /// The node's number in its tree, for the types the checker records.
    pub(crate) id: u32,
}

impl Expr {
    /// A node of `kind` at `span`.
    pub(crate) fn new(kind: ExprKind, span: Span, id: u32) -> Expr {
        let h = |e: &Expr| e.height;
        let below = match &kind {
            ExprKind::Literal(_) | ExprKind::Ident(_) => 0,
            ExprKind::Select { operand, .. } | ExprKind::Has { operand, .. } | ExprKind::Unary { operand, .. } => {
                h(operand)
            }
            ExprKind::Index { operand, index } => h(operand).max(h(index)),
            ExprKind::Call { target, args, .. } => {
                args.iter().map(h).chain(target.as_deref().map(h)).max().unwrap_or(0)
            }
            ExprKind::List(items) => items.iter().map(h).max().unwrap_or(0),
            ExprKind::Map(entries) => entries.iter().map(|(k, v)| h(k).max(h(v))).max().unwrap_or(0),
            ExprKind::Binary { left, right, .. } => h(left).max(h(right)),
            ExprKind::Conditional { cond, then, otherwise } => h(cond).max(h(then)).max(h(otherwise)),
            ExprKind::Comprehension { range, predicate, .. } => h(range).max(h(predicate)),
        };
        Expr { kind, span, height: below + 1, id }
    }

    /// The height of the tree under this node (a leaf is 1): at most [`MAX_DEPTH`](crate::MAX_DEPTH).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The node's number in its tree (each node of a parsed expression has its own).
    pub fn id(&self) -> u32 {
        self.id
    }
}

/// The kinds of expression rules may use.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// `this`, `now`, or a comprehension's variable.
    Ident(String),
    /// `operand.field`: a record's field or a string-keyed map's entry.
    Select {
        /// The record or map.
        operand: Box<Expr>,
        /// The field's name.
        field: String,
    },
    /// `has(operand.field)`: whether the field is present.
    Has {
        /// The record or map.
        operand: Box<Expr>,
        /// The field's name.
        field: String,
    },
    /// `operand[index]`.
    Index {
        /// The list or map.
        operand: Box<Expr>,
        /// The position or key.
        index: Box<Expr>,
    },
    /// `function(args)` or `target.function(args)`.
    Call {
        /// The receiver of a method-style call.
        target: Option<Box<Expr>>,
        /// The function's name.
        function: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `[a, b, …]`.
    List(Vec<Expr>),
    /// `{k: v, …}`.
    Map(Vec<(Expr, Expr)>),
    /// `!e` or `-e`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        left: Box<Expr>,
        /// The right operand.
        right: Box<Expr>,
    },
    /// `cond ? then : otherwise`.
    Conditional {
        /// The condition.
        cond: Box<Expr>,
        /// The value when it holds.
        then: Box<Expr>,
        /// The value when it does not.
        otherwise: Box<Expr>,
    },
    /// `range.all(var, predicate)` and its kin: over a list's items or a map's keys.
    Comprehension {
        /// All, exists, or exists exactly once.
        quantifier: Quantifier,
        /// The list or map.
        range: Box<Expr>,
        /// The variable each item is bound to.
        var: String,
        /// The variable's span.
        var_span: Span,
        /// The condition on each item.
        predicate: Box<Expr>,
    },
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true`, `false`.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// An unsigned 64-bit integer (`1u`).
    Uint(u64),
    /// A double.
    Double(f64),
    /// A string.
    String(String),
    /// A byte string (`b"…"`).
    Bytes(Vec<u8>),
}

/// A unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `!`.
    Not,
    /// `-`.
    Neg,
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `in`.
    In,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

/// Which comprehension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// `all`: the predicate holds for every item.
    All,
    /// `exists`: for at least one.
    Exists,
    /// `exists_one`: for exactly one.
    ExistsOne,
}
