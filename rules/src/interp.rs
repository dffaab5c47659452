//! An interpreter for rules no Rust type was derived with: the rules a registered schema carries. A rule is parsed
//! and checked once (per schema, at bind), then evaluated on each value as a tree of [`Value`]s. Its semantics are
//! those of the code the derive generates (`derive/src/rules.rs`), operator for operator: `&&`, `||`, `all` and
//! `exists` absorb errors as CEL does, integer arithmetic is checked, sizes count code points, a null where a value
//! is needed is an error, and numbers of different kinds do not compare.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{BinaryOp, Expr, ExprKind, Literal, Quantifier, UnaryOp};
use crate::rt::{self, Accessor, CompiledRegex, Duration, EvalError, Timestamp};
use crate::{Checked, RuleError, Type, Yields};

/// A CEL value, as a registered schema's rules see a decoded Avro value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// A `bool`.
    Bool(bool),
    /// An `int` (Avro `int` and `long`).
    Int(i64),
    /// A `uint`.
    Uint(u64),
    /// A `double` (Avro `float` and `double`).
    Double(f64),
    /// A `string` (Avro strings and enum symbols).
    String(Arc<str>),
    /// `bytes` (Avro bytes and fixed).
    Bytes(Arc<[u8]>),
    /// A timestamp (Avro `timestamp-millis` and `timestamp-micros`).
    Timestamp(Timestamp),
    /// A duration.
    Duration(Duration),
    /// A list.
    List(Arc<[Value]>),
    /// A map with string keys, in the order written.
    Map(Arc<[(Arc<str>, Value)]>),
    /// A record: its fields by name, in order.
    Record(Arc<[(Arc<str>, Value)]>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Timestamp(_) => "timestamp",
            Value::Duration(_) => "duration",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Record(_) => "record",
        }
    }

    /// A string value.
    pub fn string(s: &str) -> Value {
        Value::String(Arc::from(s))
    }
}

fn overload(what: &str, args: &[&Value]) -> EvalError {
    let kinds: Vec<&str> = args.iter().map(|v| v.kind()).collect();
    EvalError::Range(format!("no such overload: {what}({})", kinds.join(", ")))
}

/// A rule compiled for the interpreter: its tree, its checked types, its patterns compiled once.
pub struct Program {
    expr: Expr,
    yields: Yields,
    /// Whether some part of the rule has a type the checker could not know ([`Type::Dyn`]).
    reads_dyn: bool,
    /// Literal patterns of `matches`, by the node id of the call, compiled on first use.
    patterns: HashMap<u32, CompiledRegex>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("yields", &self.yields).finish_non_exhaustive()
    }
}

impl Program {
    /// Parses `text` and checks it against `this`, the type of the value the rule is on.
    pub fn compile(text: &str, this: &Type) -> Result<Program, Vec<RuleError>> {
        let expr = crate::parse(text).map_err(|e| vec![e])?;
        let checked: Checked = crate::check_rule(&expr, this)?;
        let mut patterns = HashMap::new();
        collect_patterns(&expr, &mut patterns);
        let reads_dyn = any_dyn(&expr, &checked);
        Ok(Program { yields: checked.yields, expr, reads_dyn, patterns })
    }

    /// Whether some part of the rule reads a value of a type rules do not know (a [`Type::Dyn`] in `this`):
    /// what it does with it was not checked.
    pub fn reads_dyn(&self) -> bool {
        self.reads_dyn
    }

    /// The rule's verdict on `this`: `Ok(None)` when it holds, `Ok(Some(message))` when it is broken (an empty
    /// message for a `false`), `Err` when it cannot be evaluated (which breaks it too).
    pub fn verdict(&self, this: &Value) -> Result<Option<String>, EvalError> {
        let mut env = Env { this, vars: Vec::new(), program: self };
        match (env.eval(&self.expr)?, self.yields) {
            (Value::Bool(true), Yields::Bool) => Ok(None),
            (Value::Bool(false), Yields::Bool) => Ok(Some(String::new())),
            (Value::String(s), Yields::Message) if s.is_empty() => Ok(None),
            (Value::String(s), Yields::Message) => Ok(Some(s.to_string())),
            (v, _) => Err(EvalError::Range(format!("the rule yields a {}, not a verdict", v.kind()))),
        }
    }
}

fn any_dyn(e: &Expr, checked: &Checked) -> bool {
    if *checked.ty(e) == Type::Dyn {
        return true;
    }
    let any = |x: &Expr| any_dyn(x, checked);
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::Ident(_) => false,
        ExprKind::Select { operand, .. } | ExprKind::Has { operand, .. } | ExprKind::Unary { operand, .. } => {
            any(operand)
        }
        ExprKind::Index { operand, index } => any(operand) || any(index),
        ExprKind::Call { target, args, .. } => target.as_deref().is_some_and(any) || args.iter().any(any),
        ExprKind::List(items) => items.iter().any(any),
        ExprKind::Map(entries) => entries.iter().any(|(k, v)| any(k) || any(v)),
        ExprKind::Binary { left, right, .. } => any(left) || any(right),
        ExprKind::Conditional { cond, then, otherwise } => any(cond) || any(then) || any(otherwise),
        ExprKind::Comprehension { range, predicate, .. } => any(range) || any(predicate),
    }
}

fn collect_patterns(e: &Expr, out: &mut HashMap<u32, CompiledRegex>) {
    let mut visit = |x: &Expr| collect_patterns(x, out);
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::Ident(_) => {}
        ExprKind::Select { operand, .. } | ExprKind::Has { operand, .. } | ExprKind::Unary { operand, .. } => {
            visit(operand)
        }
        ExprKind::Index { operand, index } => {
            visit(operand);
            visit(index);
        }
        ExprKind::Call { target, function, args } => {
            if function == "matches"
                && matches!(args.last().map(|a| &a.kind), Some(ExprKind::Literal(Literal::String(_))))
            {
                out.insert(e.id(), CompiledRegex::new());
            }
            target.iter().for_each(|t| collect_patterns(t, out));
            args.iter().for_each(|a| collect_patterns(a, out));
        }
        ExprKind::List(items) => items.iter().for_each(visit),
        ExprKind::Map(entries) => {
            for (k, v) in entries {
                collect_patterns(k, out);
                collect_patterns(v, out);
            }
        }
        ExprKind::Binary { left, right, .. } => {
            visit(left);
            visit(right);
        }
        ExprKind::Conditional { cond, then, otherwise } => {
            visit(cond);
            visit(then);
            visit(otherwise);
        }
        ExprKind::Comprehension { range, predicate, .. } => {
            visit(range);
            visit(predicate);
        }
    }
}

struct Env<'a> {
    this: &'a Value,
    /// Comprehension variables in scope, innermost last.
    vars: Vec<(&'a str, Value)>,
    program: &'a Program,
}

fn need_bool(v: Value, what: &'static str) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(b),
        Value::Null => Err(EvalError::Null(what)),
        other => Err(overload(what, &[&other])),
    }
}

fn need_str(v: &Value, what: &'static str) -> Result<Arc<str>, EvalError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(EvalError::Null(what)),
        other => Err(overload(what, &[other])),
    }
}

/// A null operand where a value is needed is an error.
fn non_null(v: Value, what: &'static str) -> Result<Value, EvalError> {
    if v == Value::Null { Err(EvalError::Null(what)) } else { Ok(v) }
}

/// CEL's equality: null equals only null; numbers of different kinds are not compared.
fn equal(a: &Value, b: &Value) -> Result<bool, EvalError> {
    Ok(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (x, y) in x.iter().zip(y.iter()) {
                if !equal(x, y)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) | (Value::Record(x), Value::Record(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x.iter() {
                match y.iter().find(|(k2, _)| k2 == k) {
                    Some((_, w)) if equal(v, w)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        (Value::Int(_) | Value::Uint(_) | Value::Double(_), Value::Int(_) | Value::Uint(_) | Value::Double(_))
            if std::mem::discriminant(a) != std::mem::discriminant(b) =>
        {
            return Err(overload("_==_", &[a, b]));
        }
        _ if std::mem::discriminant(a) != std::mem::discriminant(b) => false,
        _ => a == b,
    })
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, EvalError> {
    use std::cmp::Ordering;
    let ordered = match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Uint(x), Value::Uint(y)) => Some(x.cmp(y)),
        // NaN compares false every way, as the generated `<` does: reported as "not ordered" below.
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Null, _) | (_, Value::Null) => return Err(EvalError::Null("an operand of a comparison")),
        _ => return Err(overload("_<_", &[a, b])),
    };
    // `None` only for a NaN: every comparison with it is false, which `Equal` is not for `<`/`>` and is for
    // `<=`/`>=`; the caller handles NaN before asking.
    Ok(ordered.unwrap_or(Ordering::Equal))
}

fn is_nan(v: &Value) -> bool {
    matches!(v, Value::Double(d) if d.is_nan())
}

fn size_of(v: &Value) -> Result<i64, EvalError> {
    Ok(match v {
        Value::String(s) => rt::size_str(s),
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Null => return Err(EvalError::Null("the argument of size")),
        other => return Err(overload("size", &[other])),
    })
}

fn accessor(name: &str) -> Option<Accessor> {
    Some(match name {
        "getFullYear" => Accessor::FullYear,
        "getMonth" => Accessor::Month,
        "getDayOfMonth" => Accessor::DayOfMonth,
        "getDate" => Accessor::Date,
        "getDayOfWeek" => Accessor::DayOfWeek,
        "getDayOfYear" => Accessor::DayOfYear,
        "getHours" => Accessor::Hours,
        "getMinutes" => Accessor::Minutes,
        "getSeconds" => Accessor::Seconds,
        "getMilliseconds" => Accessor::Milliseconds,
        _ => return None,
    })
}

impl<'a> Env<'a> {
    fn eval(&mut self, e: &'a Expr) -> Result<Value, EvalError> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(match l {
                Literal::Null => Value::Null,
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Int(i) => Value::Int(*i),
                Literal::Uint(u) => Value::Uint(*u),
                Literal::Double(d) => Value::Double(*d),
                Literal::String(s) => Value::string(s),
                Literal::Bytes(b) => Value::Bytes(Arc::from(b.as_slice())),
            }),
            ExprKind::Ident(name) => {
                if let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) {
                    return Ok(v.clone());
                }
                match name.as_str() {
                    "now" => Ok(Value::Timestamp(Timestamp::now())),
                    "this" => Ok(self.this.clone()),
                    other => Err(EvalError::Range(format!("undeclared reference to `{other}`"))),
                }
            }
            ExprKind::Select { operand, field } => {
                let v = non_null(self.eval(operand)?, "a record or map")?;
                match &v {
                    Value::Record(fields) => fields
                        .iter()
                        .find(|(n, _)| &**n == field)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| EvalError::Range(format!("no such field: {field}"))),
                    Value::Map(entries) => entries
                        .iter()
                        .find(|(k, _)| &**k == field)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| EvalError::NoSuchKey(field.clone())),
                    other => Err(overload("_._", &[other])),
                }
            }
            ExprKind::Has { operand, field } => {
                let v = non_null(self.eval(operand)?, "a record or map")?;
                match &v {
                    Value::Record(fields) => Ok(Value::Bool(fields.iter().any(|(n, _)| &**n == field))),
                    Value::Map(entries) => Ok(Value::Bool(entries.iter().any(|(k, _)| &**k == field))),
                    other => Err(overload("has", &[other])),
                }
            }
            ExprKind::Index { operand, index } => {
                let v = non_null(self.eval(operand)?, "a list or map")?;
                let i = non_null(self.eval(index)?, "an index")?;
                match (&v, &i) {
                    (Value::List(items), Value::Int(_) | Value::Uint(_)) => {
                        let n = match i {
                            Value::Uint(u) => rt::uint_to_int(u)?,
                            Value::Int(n) => n,
                            _ => 0,
                        };
                        match usize::try_from(n) {
                            Ok(k) if k < items.len() => Ok(items[k].clone()),
                            _ => Err(EvalError::IndexOutOfRange { index: n, len: items.len() }),
                        }
                    }
                    (Value::Map(entries), Value::String(k)) => entries
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| EvalError::NoSuchKey(k.to_string())),
                    _ => Err(overload("_[_]", &[&v, &i])),
                }
            }
            ExprKind::List(items) => {
                let values = items.iter().map(|i| self.eval(i)).collect::<Result<Vec<_>, _>>()?;
                Ok(Value::List(values.into()))
            }
            ExprKind::Map(entries) => {
                let mut out: Vec<(Arc<str>, Value)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = need_str(&self.eval(k)?, "a map key")?;
                    let v = self.eval(v)?;
                    if out.iter().any(|(x, _)| *x == k) {
                        return Err(EvalError::Range(format!("repeated map key {k:?}")));
                    }
                    out.push((k, v));
                }
                Ok(Value::Map(out.into()))
            }
            ExprKind::Unary { op, operand } => {
                let v = non_null(self.eval(operand)?, "an operand")?;
                match (op, &v) {
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (UnaryOp::Neg, Value::Int(i)) => Ok(Value::Int(rt::neg_int(*i)?)),
                    (UnaryOp::Neg, Value::Double(d)) => Ok(Value::Double(-d)),
                    _ => Err(overload(if *op == UnaryOp::Not { "!_" } else { "-_" }, &[&v])),
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right),
            ExprKind::Conditional { cond, then, otherwise } => {
                if need_bool(self.eval(cond)?, "a condition")? {
                    self.eval(then)
                } else {
                    self.eval(otherwise)
                }
            }
            ExprKind::Comprehension { quantifier, range, var, predicate, .. } => {
                self.comprehension(*quantifier, range, var, predicate)
            }
            ExprKind::Call { target, function, args } => self.call(e, target.as_deref(), function, args),
        }
    }

    fn logic(&mut self, e: &'a Expr) -> Result<bool, EvalError> {
        need_bool(self.eval(e)?, "an operand of a logical operator")
    }

    fn binary(&mut self, op: BinaryOp, left: &'a Expr, right: &'a Expr) -> Result<Value, EvalError> {
        if let BinaryOp::And | BinaryOp::Or = op {
            // Commutative over errors: `false && error` is false, and so is `error && false`.
            let absorbing = op == BinaryOp::Or;
            return Ok(Value::Bool(match self.logic(left) {
                Ok(b) if b == absorbing => absorbing,
                Ok(_) => self.logic(right)?,
                Err(e) => match self.logic(right) {
                    Ok(b) if b == absorbing => absorbing,
                    _ => return Err(e),
                },
            }));
        }
        let l = self.eval(left)?;
        let r = self.eval(right)?;
        match op {
            BinaryOp::Eq => Ok(Value::Bool(equal(&l, &r)?)),
            BinaryOp::Ne => Ok(Value::Bool(!equal(&l, &r)?)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                use std::cmp::Ordering::*;
                let ord = compare(&l, &r)?;
                if is_nan(&l) || is_nan(&r) {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(match op {
                    BinaryOp::Lt => ord == Less,
                    BinaryOp::Le => ord != Greater,
                    BinaryOp::Gt => ord == Greater,
                    _ => ord != Less,
                }))
            }
            BinaryOp::In => match non_null(r, "a list or map")? {
                Value::List(items) => {
                    for item in items.iter() {
                        if equal(&l, item)? {
                            return Ok(Value::Bool(true));
                        }
                    }
                    Ok(Value::Bool(false))
                }
                Value::Map(entries) => {
                    let k = need_str(&l, "a key")?;
                    Ok(Value::Bool(entries.iter().any(|(key, _)| *key == k)))
                }
                other => Err(overload("@in", &[&l, &other])),
            },
            _ => arithmetic(op, non_null(l, "an operand of arithmetic")?, non_null(r, "an operand of arithmetic")?),
        }
    }

    fn comprehension(
        &mut self,
        q: Quantifier,
        range: &'a Expr,
        var: &'a str,
        predicate: &'a Expr,
    ) -> Result<Value, EvalError> {
        let items: Vec<Value> = match non_null(self.eval(range)?, "the range of a comprehension")? {
            Value::List(items) => items.to_vec(),
            Value::Map(entries) => entries.iter().map(|(k, _)| Value::String(k.clone())).collect(),
            other => return Err(overload("all", &[&other])),
        };
        let test = |env: &mut Self, item: Value| {
            env.vars.push((var, item));
            let p = env.eval(predicate).and_then(|v| need_bool(v, "a predicate"));
            env.vars.pop();
            p
        };
        match q {
            Quantifier::All | Quantifier::Exists => {
                // A predicate's error counts only if no item decides the result.
                let decides = q == Quantifier::Exists;
                let mut err = None;
                for item in items {
                    match test(self, item) {
                        Ok(b) if b == decides => return Ok(Value::Bool(decides)),
                        Ok(_) => {}
                        Err(e) => {
                            err.get_or_insert(e);
                        }
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok(Value::Bool(!decides)),
                }
            }
            Quantifier::ExistsOne => {
                let mut n = 0usize;
                for item in items {
                    if test(self, item)? {
                        n += 1;
                    }
                }
                Ok(Value::Bool(n == 1))
            }
        }
    }

    fn call(
        &mut self,
        e: &'a Expr,
        target: Option<&'a Expr>,
        function: &str,
        args: &'a [Expr],
    ) -> Result<Value, EvalError> {
        let receiver = match target {
            Some(t) => Some(non_null(self.eval(t)?, "the receiver of a method")?),
            None => None,
        };
        let arg = |env: &mut Self, i: usize, what: &'static str| -> Result<Value, EvalError> {
            match args.get(i) {
                Some(a) => non_null(env.eval(a)?, what),
                None => Err(EvalError::Range(format!("`{function}` needs an argument"))),
            }
        };
        match (function, receiver, args.len()) {
            ("size", Some(v), 0) => Ok(Value::Int(size_of(&v)?)),
            ("size", None, 1) => Ok(Value::Int(size_of(&arg(self, 0, "the argument of size")?)?)),
            ("startsWith" | "endsWith" | "contains", Some(s), 1) => {
                let s = need_str(&s, "the receiver")?;
                let x = need_str(&arg(self, 0, "the argument")?, "the argument")?;
                Ok(Value::Bool(match function {
                    "startsWith" => s.starts_with(&*x),
                    "endsWith" => s.ends_with(&*x),
                    _ => s.contains(&*x),
                }))
            }
            ("matches", Some(s), 1) => {
                let s = need_str(&s, "the text")?;
                self.matches(e, &s, &args[0])
            }
            ("matches", None, 2) => {
                let s = need_str(&arg(self, 0, "the text")?, "the text")?;
                self.matches(e, &s, &args[1])
            }
            ("timestamp", None, 1) => match arg(self, 0, "a timestamp")? {
                Value::String(s) => Ok(Value::Timestamp(Timestamp::parse(&s)?)),
                Value::Int(i) => Ok(Value::Timestamp(Timestamp::new(i, 0)?)),
                t @ Value::Timestamp(_) => Ok(t),
                other => Err(overload("timestamp", &[&other])),
            },
            ("duration", None, 1) => match arg(self, 0, "a duration")? {
                Value::String(s) => Ok(Value::Duration(Duration::parse(&s)?)),
                d @ Value::Duration(_) => Ok(d),
                other => Err(overload("duration", &[&other])),
            },
            ("int" | "uint" | "double" | "string", None, 1) => {
                convert(function, arg(self, 0, "the argument of a conversion")?)
            }
            (getter, Some(v), n) if n <= 1 => {
                let Some(a) = accessor(getter) else {
                    return Err(EvalError::Range(format!("`{getter}` is not supported in rules")));
                };
                match (v, n) {
                    (Value::Duration(d), 0) => Ok(Value::Int(d.get(a))),
                    (Value::Timestamp(t), 0) => Ok(Value::Int(t.get(a, 0))),
                    (Value::Timestamp(t), _) => {
                        let zone = need_str(&arg(self, 0, "a time zone")?, "a time zone")?;
                        Ok(Value::Int(t.get(a, rt::zone_offset(&zone)?)))
                    }
                    (other, _) => Err(overload(getter, &[&other])),
                }
            }
            _ => Err(EvalError::Range(format!("`{function}` is not supported in rules"))),
        }
    }

    fn matches(&mut self, call: &'a Expr, text: &str, pattern: &'a Expr) -> Result<Value, EvalError> {
        if let (Some(cell), ExprKind::Literal(Literal::String(p))) =
            (self.program.patterns.get(&call.id()), &pattern.kind)
        {
            return Ok(Value::Bool(rt::matches_static(cell, p, text)?));
        }
        let p = need_str(&non_null(self.eval(pattern)?, "a pattern")?, "a pattern")?;
        Ok(Value::Bool(rt::matches(&p, text)?))
    }
}

fn arithmetic(op: BinaryOp, l: Value, r: Value) -> Result<Value, EvalError> {
    use BinaryOp::*;
    Ok(match (op, &l, &r) {
        (Add, Value::Int(a), Value::Int(b)) => Value::Int(rt::add_int(*a, *b)?),
        (Sub, Value::Int(a), Value::Int(b)) => Value::Int(rt::sub_int(*a, *b)?),
        (Mul, Value::Int(a), Value::Int(b)) => Value::Int(rt::mul_int(*a, *b)?),
        (Div, Value::Int(a), Value::Int(b)) => Value::Int(rt::div_int(*a, *b)?),
        (Rem, Value::Int(a), Value::Int(b)) => Value::Int(rt::rem_int(*a, *b)?),
        (Add, Value::Uint(a), Value::Uint(b)) => Value::Uint(rt::add_uint(*a, *b)?),
        (Sub, Value::Uint(a), Value::Uint(b)) => Value::Uint(rt::sub_uint(*a, *b)?),
        (Mul, Value::Uint(a), Value::Uint(b)) => Value::Uint(rt::mul_uint(*a, *b)?),
        (Div, Value::Uint(a), Value::Uint(b)) => Value::Uint(rt::div_uint(*a, *b)?),
        (Rem, Value::Uint(a), Value::Uint(b)) => Value::Uint(rt::rem_uint(*a, *b)?),
        (Add, Value::Double(a), Value::Double(b)) => Value::Double(a + b),
        (Sub, Value::Double(a), Value::Double(b)) => Value::Double(a - b),
        (Mul, Value::Double(a), Value::Double(b)) => Value::Double(a * b),
        (Div, Value::Double(a), Value::Double(b)) => Value::Double(a / b),
        (Add, Value::String(a), Value::String(b)) => Value::String(Arc::from(format!("{a}{b}"))),
        (Add, Value::Bytes(a), Value::Bytes(b)) => Value::Bytes([&a[..], &b[..]].concat().into()),
        (Add, Value::Timestamp(t), Value::Duration(d)) | (Add, Value::Duration(d), Value::Timestamp(t)) => {
            Value::Timestamp(t.plus(*d)?)
        }
        (Sub, Value::Timestamp(t), Value::Duration(d)) => Value::Timestamp(t.minus(*d)?),
        (Sub, Value::Timestamp(a), Value::Timestamp(b)) => Value::Duration(a.since(*b)?),
        (Add, Value::Duration(a), Value::Duration(b)) => Value::Duration(a.plus(*b)?),
        (Sub, Value::Duration(a), Value::Duration(b)) => Value::Duration(a.minus(*b)?),
        _ => return Err(overload(op.symbol(), &[&l, &r])),
    })
}

fn convert(function: &str, v: Value) -> Result<Value, EvalError> {
    Ok(match (function, &v) {
        ("int", Value::Int(_))
        | ("uint", Value::Uint(_))
        | ("double", Value::Double(_))
        | ("string", Value::String(_)) => v,
        ("int", Value::Uint(u)) => Value::Int(rt::uint_to_int(*u)?),
        ("int", Value::Double(d)) => Value::Int(rt::double_to_int(*d)?),
        ("int", Value::String(s)) => Value::Int(rt::parse_number::<i64>(s, "int")?),
        ("int", Value::Timestamp(t)) => Value::Int(t.seconds()),
        ("uint", Value::Int(i)) => Value::Uint(rt::int_to_uint(*i)?),
        ("uint", Value::Double(d)) => Value::Uint(rt::double_to_uint(*d)?),
        ("uint", Value::String(s)) => Value::Uint(rt::parse_number::<u64>(s, "uint")?),
        ("double", Value::Int(i)) => Value::Double(*i as f64),
        ("double", Value::Uint(u)) => Value::Double(*u as f64),
        ("double", Value::String(s)) => Value::Double(rt::parse_number::<f64>(s, "double")?),
        ("string", Value::Int(i)) => Value::string(&i.to_string()),
        ("string", Value::Uint(u)) => Value::string(&u.to_string()),
        ("string", Value::Bool(b)) => Value::string(&b.to_string()),
        ("string", Value::Double(d)) => Value::string(&rt::double_to_string(*d)),
        _ => return Err(overload(function, &[&v])),
    })
}
