//! Types a parsed rule against the type it is written on, collecting every error with its span.

use crate::ast::{BinaryOp, Expr, ExprKind, Literal, UnaryOp};
use crate::time::{parse_duration, parse_timestamp};
use crate::types::Type;
use crate::{RuleError, Span};

/// What a rule yields: Confluent's two forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yields {
    /// A bool: `false` is a violation.
    Bool,
    /// A string: non-empty is a violation, with that message.
    Message,
}

/// A rule that type-checked: what it yields, and the type of each of its nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// What the rule yields.
    pub yields: Yields,
    types: Vec<Type>,
}

impl Checked {
    /// The type of `e`, a node of the checked expression.
    pub fn ty(&self, e: &Expr) -> &Type {
        self.types.get(e.id() as usize).unwrap_or(&Type::Dyn)
    }
}

/// Checks `expr` as a rule on a value of type `this`: every error found, or what the rule yields with the type of
/// each node.
pub fn check_rule(expr: &Expr, this: &Type) -> Result<Checked, Vec<RuleError>> {
    let mut c = Checker { this, scopes: Vec::new(), errors: Vec::new(), types: Vec::new() };
    let ty = c.ty(expr);
    let yields = match ty.non_null() {
        Type::Bool => Some(Yields::Bool),
        Type::String => Some(Yields::Message),
        _ => None,
    };
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    match yields {
        Some(yields) => Ok(Checked { yields, types: c.types }),
        None => Err(vec![RuleError::new(
            expr.span,
            format!("a rule must yield a bool or a string (a message); this one yields {ty}"),
        )]),
    }
}

/// The type of `expr` where `this` is of type `this`, or every error found.
pub fn type_of(expr: &Expr, this: &Type) -> Result<Type, Vec<RuleError>> {
    let mut c = Checker { this, scopes: Vec::new(), errors: Vec::new(), types: Vec::new() };
    let ty = c.ty(expr);
    if c.errors.is_empty() { Ok(ty) } else { Err(c.errors) }
}

struct Checker<'a> {
    this: &'a Type,
    scopes: Vec<(String, Type)>,
    errors: Vec<RuleError>,
    /// Each node's type, by its id.
    types: Vec<Type>,
}

/// The type two values share (`==` operands, a conditional's branches, a list's items).
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        _ if a == b => Some(a.clone()),
        (Type::Dyn, _) | (_, Type::Dyn) => Some(Type::Dyn),
        (Type::Null, t) | (t, Type::Null) => Some(Type::nullable(t.clone())),
        (Type::Nullable(x), y) | (y, Type::Nullable(x)) => unify(x, y.non_null()).map(Type::nullable),
        (Type::List(x), Type::List(y)) => unify(x, y).map(Type::list),
        (Type::Map(k1, v1), Type::Map(k2, v2)) => Some(Type::map(unify(k1, k2)?, unify(v1, v2)?)),
        _ => None,
    }
}

/// Whether `==` may compare values of `a` and `b`: the same type, or null against a nullable value. Numbers of
/// different kinds are not comparable: newer CEL compares them by value, but Confluent's Python client (celpy)
/// fails on `1 == 1.0` and `1u < 2`, and a rule must give the same verdict in every client.
fn comparable(a: &Type, b: &Type) -> bool {
    unify(a, b).is_some()
}

/// Two numbers of different kinds (`int` against `double`): refused with what to write instead.
fn mixed_numbers(a: &Type, b: &Type) -> bool {
    let (a, b) = (a.non_null(), b.non_null());
    a.is_numeric() && b.is_numeric() && a != b
}

const MIXED_NUMBERS: &str = "numbers of different kinds do not compare in every client (Confluent's Python client \
                             fails on them): write the literal in the field's kind (`0.0`, `1u`) or convert with \
                             `int()`, `uint()` or `double()`";

fn orderable(t: &Type) -> bool {
    matches!(
        t,
        Type::Int
            | Type::Uint
            | Type::Double
            | Type::String
            | Type::Bytes
            | Type::Bool
            | Type::Timestamp
            | Type::Duration
    )
}

/// Names of the timestamp accessors; those that take an optional time zone.
const TIMESTAMP_GETTERS: [&str; 10] = [
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];
const DURATION_GETTERS: [&str; 4] = ["getHours", "getMinutes", "getSeconds", "getMilliseconds"];

impl Checker<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) -> Type {
        self.errors.push(RuleError::new(span, message));
        Type::Dyn
    }

    /// `expr`'s type, recorded by its id.
    fn ty(&mut self, expr: &Expr) -> Type {
        let t = self.node_type(expr);
        let id = expr.id() as usize;
        if self.types.len() <= id {
            self.types.resize(id + 1, Type::Dyn);
        }
        self.types[id] = t.clone();
        t
    }

    /// `expr`'s type, each argument of an operation checked first; an error makes its node `Dyn`, so one mistake
    /// is reported once.
    fn node_type(&mut self, expr: &Expr) -> Type {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Literal(l) => match l {
                Literal::Null => Type::Null,
                Literal::Bool(_) => Type::Bool,
                Literal::Int(_) => Type::Int,
                Literal::Uint(_) => Type::Uint,
                Literal::Double(_) => Type::Double,
                Literal::String(_) => Type::String,
                Literal::Bytes(_) => Type::Bytes,
            },
            ExprKind::Ident(name) => {
                if let Some((_, t)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
                    return t.clone();
                }
                match name.as_str() {
                    "this" => self.this.clone(),
                    "now" => Type::Timestamp,
                    _ => self.error(span, format!("undeclared reference to `{name}` (a rule sees `this` and `now`)")),
                }
            }
            ExprKind::Select { operand, field } => {
                let t = self.ty(operand);
                self.field(&t, field, span)
            }
            ExprKind::Has { operand, field } => {
                let t = self.ty(operand);
                self.field(&t, field, span);
                Type::Bool
            }
            ExprKind::Index { operand, index } => {
                let (t, i) = (self.ty(operand), self.ty(index));
                match (t.non_null(), i.non_null()) {
                    (Type::Dyn, _) => Type::Dyn,
                    (Type::List(item), Type::Int | Type::Uint | Type::Dyn) => (**item).clone(),
                    (Type::Map(k, v), i) if comparable(k, i) => (**v).clone(),
                    (t, i) => self.error(span, format!("cannot index a {t} with a {i}")),
                }
            }
            ExprKind::List(items) => {
                let mut item = None;
                for e in items {
                    let t = self.ty(e);
                    item = match item {
                        None => Some(t),
                        Some(prev) => match unify(&prev, &t) {
                            Some(u) => Some(u),
                            None => Some(self.error(e.span, format!("a list of {prev} cannot hold a {t}"))),
                        },
                    };
                }
                Type::list(item.unwrap_or(Type::Dyn))
            }
            ExprKind::Map(entries) => {
                let (mut key, mut value): (Option<Type>, Option<Type>) = (None, None);
                for (k, v) in entries {
                    let (kt, vt) = (self.ty(k), self.ty(v));
                    if !matches!(kt, Type::Int | Type::Uint | Type::String | Type::Bool | Type::Dyn) {
                        self.error(k.span, format!("a map key must be an int, uint, string or bool, not a {kt}"));
                    }
                    key = Some(key.map_or(kt.clone(), |p| unify(&p, &kt).unwrap_or(Type::Dyn)));
                    value = Some(match value {
                        None => vt,
                        Some(p) => match unify(&p, &vt) {
                            Some(u) => u,
                            None => self.error(v.span, format!("a map of {p} values cannot hold a {vt}")),
                        },
                    });
                }
                Type::map(key.unwrap_or(Type::Dyn), value.unwrap_or(Type::Dyn))
            }
            ExprKind::Unary { op, operand } => {
                let t = self.ty(operand);
                match (op, t.non_null()) {
                    (_, Type::Dyn) => Type::Dyn,
                    (UnaryOp::Not, Type::Bool) => Type::Bool,
                    (UnaryOp::Neg, Type::Int) => Type::Int,
                    (UnaryOp::Neg, Type::Double) => Type::Double,
                    (UnaryOp::Not, t) => self.error(span, format!("`!` needs a bool, not a {t}")),
                    (UnaryOp::Neg, t) => self.error(span, format!("`-` needs an int or a double, not a {t}")),
                }
            }
            ExprKind::Binary { op, left, right } => {
                let (l, r) = (self.ty(left), self.ty(right));
                self.binary(*op, &l, &r, span)
            }
            ExprKind::Conditional { cond, then, otherwise } => {
                let c = self.ty(cond);
                if !matches!(c.non_null(), Type::Bool | Type::Dyn) {
                    self.error(cond.span, format!("a condition must be a bool, not a {c}"));
                }
                let (a, b) = (self.ty(then), self.ty(otherwise));
                match unify(&a, &b) {
                    Some(t) => t,
                    None => self.error(span, format!("the branches of `?:` differ: {a} and {b}")),
                }
            }
            ExprKind::Comprehension { quantifier: _, range, var, var_span, predicate } => {
                let t = self.ty(range);
                let item = match t.non_null() {
                    Type::List(item) => (**item).clone(),
                    Type::Map(key, _) => (**key).clone(),
                    Type::Dyn => Type::Dyn,
                    t => self.error(range.span, format!("`all` and `exists` range over a list or a map, not a {t}")),
                };
                if self.scopes.iter().any(|(n, _)| n == var) {
                    self.error(*var_span, format!("`{var}` is already a variable here"));
                }
                self.scopes.push((var.clone(), item));
                let p = self.ty(predicate);
                self.scopes.pop();
                if !matches!(p.non_null(), Type::Bool | Type::Dyn) {
                    self.error(predicate.span, format!("a predicate must be a bool, not a {p}"));
                }
                Type::Bool
            }
            ExprKind::Call { target, function, args } => {
                let target = target.as_ref().map(|t| (self.ty(t), t.span));
                let arg_types: Vec<Type> = args.iter().map(|a| self.ty(a)).collect();
                self.call(target, function, args, &arg_types, span)
            }
        }
    }

    fn field(&mut self, t: &Type, field: &str, span: Span) -> Type {
        match t.non_null() {
            Type::Record(r) => match r.field(field) {
                Some(f) => f.ty.clone(),
                None => {
                    let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
                    let names = names.join(", ");
                    self.error(span, format!("no field `{field}` in {} (its fields: {names})", r.name))
                }
            },
            Type::Map(k, v) if matches!(**k, Type::String | Type::Dyn) => (**v).clone(),
            Type::Dyn => Type::Dyn,
            t => self.error(span, format!("`.{field}` selects a field of a record or map, not of a {t}")),
        }
    }

    fn binary(&mut self, op: BinaryOp, l: &Type, r: &Type, span: Span) -> Type {
        use Type as T;
        let (ln, rn) = (l.non_null(), r.non_null());
        let mismatch = |c: &mut Self| {
            if mixed_numbers(l, r) {
                c.error(span, format!("`{}` on {l} and {r}: {MIXED_NUMBERS}", op.symbol()))
            } else {
                c.error(span, format!("`{}` is not defined for {l} and {r}", op.symbol()))
            }
        };
        match op {
            BinaryOp::And | BinaryOp::Or => match (ln, rn) {
                (T::Bool | T::Dyn, T::Bool | T::Dyn) => T::Bool,
                _ => mismatch(self),
            },
            BinaryOp::Eq | BinaryOp::Ne => {
                if comparable(l, r) {
                    T::Bool
                } else {
                    mismatch(self)
                }
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => match (ln, rn) {
                (T::Dyn, t) | (t, T::Dyn) if orderable(t) || *t == T::Dyn => T::Bool,
                (a, b) if a == b && orderable(a) => T::Bool,
                _ => mismatch(self),
            },
            BinaryOp::In => match rn {
                T::Dyn => T::Bool,
                T::List(item) if comparable(l, item) => T::Bool,
                T::Map(key, _) if comparable(l, key) => T::Bool,
                _ => mismatch(self),
            },
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => match (op, ln, rn) {
                (_, T::Dyn, T::Dyn) => T::Dyn,
                (_, T::Dyn, t) | (_, t, T::Dyn) if t.is_numeric() => t.clone(),
                (_, T::Int, T::Int) => T::Int,
                (_, T::Uint, T::Uint) => T::Uint,
                (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div, T::Double, T::Double) => T::Double,
                (BinaryOp::Add, T::String, T::String) => T::String,
                (BinaryOp::Add, T::Bytes, T::Bytes) => T::Bytes,
                (BinaryOp::Add, T::List(_), T::List(_)) => match unify(ln, rn) {
                    Some(t) => t,
                    None => mismatch(self),
                },
                (BinaryOp::Add, T::Timestamp, T::Duration) | (BinaryOp::Add, T::Duration, T::Timestamp) => T::Timestamp,
                (BinaryOp::Sub, T::Timestamp, T::Duration) => T::Timestamp,
                (BinaryOp::Sub, T::Timestamp, T::Timestamp) => T::Duration,
                (BinaryOp::Add | BinaryOp::Sub, T::Duration, T::Duration) => T::Duration,

                _ => mismatch(self),
            },
        }
    }

    fn call(
        &mut self,
        target: Option<(Type, Span)>,
        function: &str,
        args: &[Expr],
        arg_types: &[Type],
        span: Span,
    ) -> Type {
        use Type as T;
        let a: Vec<&Type> = arg_types.iter().map(Type::non_null).collect();
        let any_dyn = a.iter().any(|t| **t == T::Dyn) || target.as_ref().is_some_and(|(t, _)| *t.non_null() == T::Dyn);
        let (receiver, receiver_span) = match &target {
            Some((t, s)) => (Some(t.non_null().clone()), *s),
            None => (None, span),
        };
        let signature = |c: &mut Self, wanted: &str| {
            let got: Vec<String> = arg_types.iter().map(ToString::to_string).collect();
            let on = receiver.as_ref().map(|t| format!("on a {t} ")).unwrap_or_default();
            c.error(span, format!("`{function}` {on}takes {wanted}; given ({})", got.join(", ")))
        };
        match (function, receiver.as_ref(), a.as_slice()) {
            ("size", None, [T::String | T::Bytes | T::List(_) | T::Map(..) | T::Dyn])
            | ("size", Some(T::String | T::Bytes | T::List(_) | T::Map(..) | T::Dyn), []) => T::Int,
            ("size", ..) => signature(self, "a string, bytes, list or map"),
            ("startsWith" | "endsWith" | "contains", Some(T::String | T::Dyn), [T::String | T::Dyn]) => T::Bool,
            ("startsWith" | "endsWith" | "contains", ..) => signature(self, "a string on a string"),
            ("matches", Some(T::String | T::Dyn), [T::String | T::Dyn]) => {
                self.regex(&args[0]);
                T::Bool
            }
            ("matches", None, [T::String | T::Dyn, T::String | T::Dyn]) => {
                self.regex(&args[1]);
                T::Bool
            }
            ("matches", ..) => signature(self, "a regular expression (a string) on a string"),
            ("timestamp", None, [T::String]) => {
                if let ExprKind::Literal(Literal::String(s)) = &args[0].kind
                    && parse_timestamp(s).is_none()
                {
                    self.error(args[0].span, format!("{s:?} is not an RFC 3339 timestamp within years 1 to 9999"));
                }
                T::Timestamp
            }
            ("timestamp", None, [T::Int | T::Timestamp | T::Dyn]) => T::Timestamp,
            ("timestamp", ..) => signature(self, "an RFC 3339 string or seconds since the epoch (an int)"),
            ("duration", None, [T::String]) => {
                if let ExprKind::Literal(Literal::String(s)) = &args[0].kind
                    && parse_duration(s).is_none()
                {
                    self.error(args[0].span, format!("{s:?} is not a duration such as \"1h30m\" or \"1.5s\""));
                }
                T::Duration
            }
            ("duration", None, [T::Duration | T::Dyn]) => T::Duration,
            ("duration", ..) => signature(self, "a duration string such as \"1h30m\""),
            ("int", None, [T::Int | T::Uint | T::Double | T::String | T::Timestamp | T::Dyn]) => T::Int,
            ("uint", None, [T::Int | T::Uint | T::Double | T::String | T::Dyn]) => T::Uint,
            ("double", None, [T::Int | T::Uint | T::Double | T::String | T::Dyn]) => T::Double,
            ("string", None, [_]) => T::String,
            ("int" | "uint" | "double", ..) => signature(self, "one number or string"),
            (getter, Some(T::Timestamp | T::Dyn), [] | [T::String]) if TIMESTAMP_GETTERS.contains(&getter) => {
                if let Some(ExprKind::Literal(Literal::String(zone))) = args.first().map(|a| &a.kind)
                    && crate::time::parse_zone(zone).is_none()
                {
                    self.error(
                        args[0].span,
                        format!("time zone {zone:?}: rules take \"UTC\" or a fixed offset such as \"+02:00\""),
                    );
                }
                T::Int
            }
            (getter, Some(T::Duration), []) if DURATION_GETTERS.contains(&getter) => T::Int,
            (getter, ..) if TIMESTAMP_GETTERS.contains(&getter) => {
                signature(self, "nothing or a time zone, on a timestamp (or a duration)")
            }
            _ if any_dyn && receiver.is_some() => T::Dyn,
            _ => {
                let what = if target.is_some() { "method" } else { "function" };
                let _ = receiver_span;
                self.error(span, format!("`{function}` is not a {what} rules support"))
            }
        }
    }

    /// A literal regular expression must be valid RE2 syntax as the `regex` crate reads it.
    fn regex(&mut self, pattern: &Expr) {
        if let ExprKind::Literal(Literal::String(p)) = &pattern.kind {
            let parsed = crate::re2_pattern(p).and_then(|rust| {
                regex_syntax::Parser::new().parse(&rust).map(|_| ()).map_err(|e| {
                    let message = e.to_string();
                    let last = message.lines().last().unwrap_or("invalid").trim();
                    last.strip_prefix("error: ").unwrap_or(last).to_string()
                })
            });
            if let Err(e) = parsed {
                self.error(pattern.span, format!("invalid regular expression {p:?}: {e}"));
            }
        }
    }
}
