//! CEL's grammar (`doc/langdef.md`, "Syntax"), by recursive descent, for the expressions rules may use. Parses
//! into [`Expr`] with the span of every node; refuses what rules do not support (message construction, `map` and
//! `filter`, reserved words) with an error at the construct.

use crate::ast::{BinaryOp, Expr, ExprKind, Literal, Quantifier, UnaryOp};
use crate::lex::{Tok, is_reserved, tokens};
use crate::{RuleError, Span};

/// How high an expression's tree may be (a chain of 100 `&&` is 101 levels). A rule from a registry is input, and
/// checking and evaluating recurse over the tree.
pub const MAX_DEPTH: usize = 128;

/// How deeply parentheses, lists, maps, arguments and conditionals may nest: the parser recurses through a dozen
/// frames for each.
pub const MAX_NESTING: usize = 32;

/// Parses a rule's expression.
pub fn parse(text: &str) -> Result<Expr, RuleError> {
    let toks = tokens(text)?;
    let mut p = Parser { toks, at: 0, depth: 0, next_id: 0 };
    let e = p.expr()?;
    match p.peek() {
        Tok::Eof => Ok(e),
        _ => Err(p.unexpected("the end of the expression")),
    }
}

struct Parser {
    toks: Vec<(Tok, Span)>,
    at: usize,
    depth: usize,
    next_id: u32,
}

impl Parser {
    /// A node, unless its tree grows higher than [`MAX_DEPTH`].
    fn node(&mut self, kind: ExprKind, span: Span) -> Result<Expr, RuleError> {
        let e = Expr::new(kind, span, self.next_id);
        self.next_id += 1;
        if e.height() as usize > MAX_DEPTH {
            // Dropping the operands of a too-high node recurses as deep as the limit, no deeper.
            return Err(RuleError::new(span, format!("the expression nests more than {MAX_DEPTH} levels")));
        }
        Ok(e)
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.at.min(self.toks.len() - 1)].0
    }

    fn span(&self) -> Span {
        self.toks[self.at.min(self.toks.len() - 1)].1
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self.toks[self.at.min(self.toks.len() - 1)].clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.bump();
            return true;
        }
        false
    }

    fn unexpected(&self, wanted: &str) -> RuleError {
        let found = self.peek().describe();
        RuleError::new(self.span(), format!("expected {wanted}, found {found}"))
    }

    fn expect(&mut self, tok: &Tok, wanted: &str) -> Result<Span, RuleError> {
        if self.peek() == tok {
            return Ok(self.bump().1);
        }
        Err(self.unexpected(wanted))
    }

    /// `Expr = ConditionalOr ["?" ConditionalOr ":" Expr]`
    fn expr(&mut self) -> Result<Expr, RuleError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(RuleError::new(self.span(), format!("the expression nests more than {MAX_NESTING} levels")));
        }
        let cond = self.or()?;
        let e = if self.eat(&Tok::Question) {
            let then = self.or()?;
            self.expect(&Tok::Colon, "`:` of a conditional")?;
            let otherwise = self.expr()?;
            let span = cond.span.to(otherwise.span);
            self.node(
                ExprKind::Conditional { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) },
                span,
            )?
        } else {
            cond
        };
        self.depth -= 1;
        Ok(e)
    }

    fn binary(&mut self, left: Expr, op: BinaryOp, right: Expr) -> Result<Expr, RuleError> {
        let span = left.span.to(right.span);
        self.node(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span)
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.and()?;
        while self.eat(&Tok::OrOr) {
            let r = self.and()?;
            e = self.binary(e, BinaryOp::Or, r)?;
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.relation()?;
        while self.eat(&Tok::AndAnd) {
            let r = self.relation()?;
            e = self.binary(e, BinaryOp::And, r)?;
        }
        Ok(e)
    }

    fn relation(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.addition()?;
        loop {
            let op = match self.peek() {
                Tok::Lt => BinaryOp::Lt,
                Tok::Le => BinaryOp::Le,
                Tok::Gt => BinaryOp::Gt,
                Tok::Ge => BinaryOp::Ge,
                Tok::EqEq => BinaryOp::Eq,
                Tok::Ne => BinaryOp::Ne,
                Tok::In => BinaryOp::In,
                _ => return Ok(e),
            };
            self.bump();
            let r = self.addition()?;
            e = self.binary(e, op, r)?;
        }
    }

    fn addition(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.multiplication()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinaryOp::Add,
                Tok::Minus => BinaryOp::Sub,
                _ => return Ok(e),
            };
            self.bump();
            let r = self.multiplication()?;
            e = self.binary(e, op, r)?;
        }
    }

    fn multiplication(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                Tok::Percent => BinaryOp::Rem,
                _ => return Ok(e),
            };
            self.bump();
            let r = self.unary()?;
            e = self.binary(e, op, r)?;
        }
    }

    /// `Unary = Member | "!" {"!"} Member | "-" {"-"} Member`; a negated integer literal is a literal, so that
    /// `-9223372036854775808` is an int.
    fn unary(&mut self) -> Result<Expr, RuleError> {
        let mut ops = Vec::new();
        loop {
            match self.peek() {
                Tok::Bang => ops.push((UnaryOp::Not, self.bump().1)),
                Tok::Minus => ops.push((UnaryOp::Neg, self.bump().1)),
                _ => break,
            }
        }
        let mut e = match (ops.last(), self.peek().clone()) {
            (Some((UnaryOp::Neg, minus)), Tok::Int(magnitude)) => {
                let minus = *minus;
                let (_, span) = self.bump();
                ops.pop();
                let value = 0i64
                    .checked_sub_unsigned(magnitude)
                    .ok_or_else(|| RuleError::new(minus.to(span), "integer literal out of range"))?;
                let literal = self.node(ExprKind::Literal(Literal::Int(value)), minus.to(span))?;
                self.member_of(literal)?
            }
            _ => self.member()?,
        };
        for (op, span) in ops.into_iter().rev() {
            let span = span.to(e.span);
            e = self.node(ExprKind::Unary { op, operand: Box::new(e) }, span)?;
        }
        Ok(e)
    }

    fn member(&mut self) -> Result<Expr, RuleError> {
        let primary = self.primary()?;
        self.member_of(primary)
    }

    /// `Member "." SELECTOR ["(" [ExprList] ")"] | Member "[" Expr "]"`, repeated.
    fn member_of(&mut self, mut e: Expr) -> Result<Expr, RuleError> {
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let (name, name_span) = self.selector()?;
                    if self.eat(&Tok::LParen) {
                        let (args, end) = self.args(&Tok::RParen, "`)`")?;
                        e = self.method(e, name, name_span, args, end)?;
                    } else {
                        let span = e.span.to(name_span);
                        e = self.node(ExprKind::Select { operand: Box::new(e), field: name }, span)?;
                    }
                }
                Tok::LBracket => {
                    self.bump();
                    let index = self.expr()?;
                    let end = self.expect(&Tok::RBracket, "`]`")?;
                    let span = e.span.to(end);
                    e = self.node(ExprKind::Index { operand: Box::new(e), index: Box::new(index) }, span)?;
                }
                Tok::LBrace if matches!(e.kind, ExprKind::Ident(_) | ExprKind::Select { .. }) => {
                    return Err(RuleError::new(
                        e.span.to(self.span()),
                        "message construction is not supported in rules",
                    ));
                }
                _ => return Ok(e),
            }
        }
    }

    fn selector(&mut self) -> Result<(String, Span), RuleError> {
        match self.bump() {
            (Tok::Ident(name), span) if is_reserved(&name) => {
                Err(RuleError::new(span, format!("`{name}` is a reserved word in CEL")))
            }
            (Tok::Ident(name), span) => Ok((name, span)),
            (t, span) => {
                Err(RuleError::new(span, format!("expected a field or function name, found {}", t.describe())))
            }
        }
    }

    /// Arguments up to `close` (a trailing comma allowed in lists and maps only); the closing token's span.
    fn args(&mut self, close: &Tok, wanted: &str) -> Result<(Vec<Expr>, Span), RuleError> {
        let mut args = Vec::new();
        if let Some(end) = self.close(close) {
            return Ok((args, end));
        }
        loop {
            args.push(self.expr()?);
            if self.eat(&Tok::Comma) {
                if *close == Tok::RBracket
                    && let Some(end) = self.close(close)
                {
                    return Ok((args, end));
                }
                continue;
            }
            let end = self.expect(close, wanted)?;
            return Ok((args, end));
        }
    }

    fn close(&mut self, close: &Tok) -> Option<Span> {
        (self.peek() == close).then(|| self.bump().1)
    }

    /// A method-style call, or one of the macros `all`, `exists`, `exists_one` (`map` and `filter` are refused).
    fn method(
        &mut self,
        target: Expr,
        name: String,
        name_span: Span,
        args: Vec<Expr>,
        end: Span,
    ) -> Result<Expr, RuleError> {
        let span = target.span.to(end);
        let quantifier = match name.as_str() {
            "all" => Some(Quantifier::All),
            "exists" => Some(Quantifier::Exists),
            "exists_one" => Some(Quantifier::ExistsOne),
            "map" | "filter" | "transformList" | "transformMap" => {
                return Err(RuleError::new(name_span, format!("the `{name}` macro is not supported in rules")));
            }
            _ => None,
        };
        let Some(quantifier) = quantifier else {
            return self.node(ExprKind::Call { target: Some(Box::new(target)), function: name, args }, span);
        };
        let [var, predicate]: [Expr; 2] = args.try_into().map_err(|_| {
            RuleError::new(name_span.to(end), format!("`{name}` takes a variable and a predicate: `{name}(x, p)`"))
        })?;
        let ExprKind::Ident(v) = var.kind else {
            return Err(RuleError::new(var.span, format!("`{name}`'s first argument must be a variable name")));
        };
        if v == "this" || v == "now" {
            return Err(RuleError::new(var.span, format!("`{v}` cannot be a comprehension's variable")));
        }
        self.node(
            ExprKind::Comprehension {
                quantifier,
                range: Box::new(target),
                var: v,
                var_span: var.span,
                predicate: Box::new(predicate),
            },
            span,
        )
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let at = self.at;
        let (tok, span) = self.bump();
        let literal = match &tok {
            Tok::Int(magnitude) => match i64::try_from(*magnitude) {
                Ok(v) => Some(Literal::Int(v)),
                Err(_) => return Err(RuleError::new(span, "integer literal out of range")),
            },
            Tok::Uint(v) => Some(Literal::Uint(*v)),
            Tok::Double(v) => Some(Literal::Double(*v)),
            Tok::Str(s) => Some(Literal::String(s.clone())),
            Tok::Bytes(b) => Some(Literal::Bytes(b.clone())),
            Tok::True => Some(Literal::Bool(true)),
            Tok::False => Some(Literal::Bool(false)),
            Tok::Null => Some(Literal::Null),
            _ => None,
        };
        if let Some(l) = literal {
            return self.node(ExprKind::Literal(l), span);
        }
        match tok {
            Tok::Ident(name) if is_reserved(&name) => {
                Err(RuleError::new(span, format!("`{name}` is a reserved word in CEL")))
            }
            Tok::Ident(name) => {
                if !self.eat(&Tok::LParen) {
                    return self.node(ExprKind::Ident(name), span);
                }
                let (args, end) = self.args(&Tok::RParen, "`)`")?;
                if name == "has" {
                    return self.has(args, span.to(end));
                }
                self.node(ExprKind::Call { target: None, function: name, args }, span.to(end))
            }
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(e)
            }
            Tok::LBracket => {
                self.depth += 1;
                let (items, end) = self.args(&Tok::RBracket, "`,` or `]`")?;
                self.depth -= 1;
                self.node(ExprKind::List(items), span.to(end))
            }
            Tok::LBrace => self.map(span),
            Tok::Dot => Err(RuleError::new(span, "qualified names (a leading `.`) are not supported in rules")),
            _ => {
                self.at = at;
                Err(self.unexpected("an expression"))
            }
        }
    }

    /// `{k: v, …}` after its `{`.
    fn map(&mut self, open: Span) -> Result<Expr, RuleError> {
        let mut entries = Vec::new();
        loop {
            if let Some(end) = self.close(&Tok::RBrace) {
                return self.node(ExprKind::Map(entries), open.to(end));
            }
            let k = self.expr()?;
            self.expect(&Tok::Colon, "`:` after a map key")?;
            let v = self.expr()?;
            entries.push((k, v));
            if !self.eat(&Tok::Comma) {
                let end = self.expect(&Tok::RBrace, "`,` or `}`")?;
                return self.node(ExprKind::Map(entries), open.to(end));
            }
        }
    }
}

impl Parser {
    /// `has(e.f)`: its one argument must select a field.
    fn has(&mut self, args: Vec<Expr>, span: Span) -> Result<Expr, RuleError> {
        let [arg]: [Expr; 1] =
            args.try_into().map_err(|_| RuleError::new(span, "`has` takes one argument: `has(x.field)`"))?;
        match arg.kind {
            ExprKind::Select { operand, field } => self.node(ExprKind::Has { operand, field }, span),
            _ => Err(RuleError::new(arg.span, "`has`'s argument must select a field: `has(x.field)`")),
        }
    }
}
