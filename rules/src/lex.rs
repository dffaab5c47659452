//! CEL's tokens (`doc/langdef.md`, "Syntax"), each with the byte span it came from.

use crate::{RuleError, Span};

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An integer literal's magnitude: its sign is the parser's (`-9223372036854775808` is an int).
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    True,
    False,
    Null,
    In,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    AndAnd,
    OrOr,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Eof,
}

impl Tok {
    /// The token as an error message names it.
    pub(crate) fn describe(&self) -> String {
        let symbol = match self {
            Tok::Int(_) | Tok::Uint(_) | Tok::Double(_) => return "a number".into(),
            Tok::Str(_) => return "a string".into(),
            Tok::Bytes(_) => return "a byte string".into(),
            Tok::Ident(name) => return format!("`{name}`"),
            Tok::Eof => return "the end of the expression".into(),
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            Tok::In => "in",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Question => "?",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Bang => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
        };
        format!("`{symbol}`")
    }
}

/// Words CEL reserves: not identifiers, not supported either.
const RESERVED: [&str; 18] = [
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
    "in",
];

/// The tokens of `text`, ending with [`Tok::Eof`].
pub(crate) fn tokens(text: &str) -> Result<Vec<(Tok, Span)>, RuleError> {
    let mut lexer = Lexer { text, bytes: text.as_bytes(), at: 0 };
    let mut out = Vec::new();
    loop {
        lexer.skip_space();
        let start = lexer.at;
        let tok = lexer.next()?;
        let end = lexer.at;
        let eof = tok == Tok::Eof;
        out.push((tok, Span::new(start, end)));
        if eof {
            return Ok(out);
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    /// An error from `start` to where the lexer is (at least one character), on character boundaries.
    fn error(&self, start: usize, message: impl Into<String>) -> RuleError {
        let mut end = self.at.max(start + 1).min(self.bytes.len()).max(start);
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        RuleError::new(Span::new(start, end), message)
    }

    fn skip_space(&mut self) {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c) => self.at += 1,
                Some(b'/') if self.peek(1) == Some(b'/') => {
                    while !matches!(self.peek(0), None | Some(b'\n')) {
                        self.at += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn next(&mut self) -> Result<Tok, RuleError> {
        let start = self.at;
        let Some(c) = self.peek(0) else { return Ok(Tok::Eof) };
        let two = |l: &mut Self, tok| {
            l.at += 2;
            Ok(tok)
        };
        let one = |l: &mut Self, tok| {
            l.at += 1;
            Ok(tok)
        };
        match (c, self.peek(1)) {
            (b'&', Some(b'&')) => two(self, Tok::AndAnd),
            (b'|', Some(b'|')) => two(self, Tok::OrOr),
            (b'<', Some(b'=')) => two(self, Tok::Le),
            (b'>', Some(b'=')) => two(self, Tok::Ge),
            (b'=', Some(b'=')) => two(self, Tok::EqEq),
            (b'!', Some(b'=')) => two(self, Tok::Ne),
            (b'(', _) => one(self, Tok::LParen),
            (b')', _) => one(self, Tok::RParen),
            (b'[', _) => one(self, Tok::LBracket),
            (b']', _) => one(self, Tok::RBracket),
            (b'{', _) => one(self, Tok::LBrace),
            (b'}', _) => one(self, Tok::RBrace),
            (b'.', Some(b'0'..=b'9')) => self.number(),
            (b'.', _) => one(self, Tok::Dot),
            (b',', _) => one(self, Tok::Comma),
            (b':', _) => one(self, Tok::Colon),
            (b'?', _) => one(self, Tok::Question),
            (b'+', _) => one(self, Tok::Plus),
            (b'-', _) => one(self, Tok::Minus),
            (b'*', _) => one(self, Tok::Star),
            (b'/', _) => one(self, Tok::Slash),
            (b'%', _) => one(self, Tok::Percent),
            (b'!', _) => one(self, Tok::Bang),
            (b'<', _) => one(self, Tok::Lt),
            (b'>', _) => one(self, Tok::Gt),
            (b'0'..=b'9', _) => self.number(),
            (b'"' | b'\'', _) => self.string(false, false),
            (b'r' | b'R' | b'b' | b'B', _) => self.prefixed_or_ident(),
            (c, _) if c == b'_' || c.is_ascii_alphabetic() => Ok(self.ident()),
            _ => {
                let ch = self.text[start..].chars().next().map_or(1, char::len_utf8);
                self.at += ch;
                Err(self.error(start, format!("unexpected character {:?}", &self.text[start..self.at])))
            }
        }
    }

    fn ident(&mut self) -> Tok {
        let start = self.at;
        while matches!(self.peek(0), Some(c) if c == b'_' || c.is_ascii_alphanumeric()) {
            self.at += 1;
        }
        match &self.text[start..self.at] {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "in" => Tok::In,
            word => Tok::Ident(word.to_string()),
        }
    }

    /// `r"…"`, `b"…"`, `rb"…"`, `br"…"` (any case), or an identifier starting with one of those letters.
    fn prefixed_or_ident(&mut self) -> Result<Tok, RuleError> {
        let (mut raw, mut bytes, mut n) = (false, false, 0);
        while let Some(c) = self.peek(n) {
            match c {
                b'r' | b'R' if !raw => raw = true,
                b'b' | b'B' if !bytes => bytes = true,
                b'"' | b'\'' if n > 0 => {
                    self.at += n;
                    return self.string(raw, bytes);
                }
                _ => break,
            }
            n += 1;
        }
        Ok(self.ident())
    }

    fn number(&mut self) -> Result<Tok, RuleError> {
        let start = self.at;
        if self.peek(0) == Some(b'0') && matches!(self.peek(1), Some(b'x' | b'X')) {
            self.at += 2;
            let digits = self.at;
            while matches!(self.peek(0), Some(c) if c.is_ascii_hexdigit()) {
                self.at += 1;
            }
            if digits == self.at {
                return Err(self.error(start, "a hexadecimal literal needs digits after 0x"));
            }
            let value = u64::from_str_radix(&self.text[digits..self.at], 16)
                .map_err(|_| self.error(start, "integer literal out of range"))?;
            return self.int_suffix(value);
        }
        let digits = |l: &mut Self| {
            let from = l.at;
            while matches!(l.peek(0), Some(b'0'..=b'9')) {
                l.at += 1;
            }
            l.at > from
        };
        digits(self);
        let mut float = false;
        if self.peek(0) == Some(b'.') && matches!(self.peek(1), Some(b'0'..=b'9')) {
            self.at += 1;
            digits(self);
            float = true;
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            let mark = self.at;
            self.at += 1;
            if matches!(self.peek(0), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) {
                float = true;
            } else {
                self.at = mark;
                return Err(self.error(start, "an exponent needs digits"));
            }
        }
        let text = &self.text[start..self.at];
        if float {
            return text.parse().map(Tok::Double).map_err(|_| self.error(start, "malformed double literal"));
        }
        let value: u64 = text.parse().map_err(|_| self.error(start, "integer literal out of range"))?;
        self.int_suffix(value)
    }

    fn int_suffix(&mut self, value: u64) -> Result<Tok, RuleError> {
        if matches!(self.peek(0), Some(b'u' | b'U')) {
            self.at += 1;
            return Ok(Tok::Uint(value));
        }
        Ok(Tok::Int(value))
    }

    /// A quoted literal from its opening quote (single or triple); escapes unless `raw`.
    fn string(&mut self, raw: bool, bytes: bool) -> Result<Tok, RuleError> {
        let start = self.at;
        let quote = self.bytes[self.at];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.at += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek(0) else { return Err(self.error(start, "unterminated string literal")) };
            if c == quote && (!triple || (self.peek(1) == Some(quote) && self.peek(2) == Some(quote))) {
                self.at += if triple { 3 } else { 1 };
                break;
            }
            if !triple && (c == b'\n' || c == b'\r') {
                return Err(self.error(start, "a newline in a single-quoted string literal"));
            }
            if c == b'\\' && !raw {
                self.escape(bytes, &mut out)?;
                continue;
            }
            out.push(c);
            self.at += 1;
        }
        if bytes {
            return Ok(Tok::Bytes(out));
        }
        String::from_utf8(out).map(Tok::Str).map_err(|_| self.error(start, "a string literal that is not UTF-8"))
    }

    /// One escape sequence, from its backslash, appended to `out` (a code point as UTF-8; in bytes, `\x` and octal
    /// escapes are single bytes).
    fn escape(&mut self, bytes: bool, out: &mut Vec<u8>) -> Result<(), RuleError> {
        let start = self.at;
        self.at += 1;
        let Some(c) = self.peek(0) else { return Err(self.error(start, "unterminated escape sequence")) };
        self.at += 1;
        let simple = match c {
            b'\\' => Some(b'\\'),
            b'?' => Some(b'?'),
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b'`' => Some(b'`'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let (digits, radix) = match c {
            b'x' | b'X' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'3' => {
                self.at -= 1;
                (3, 8)
            }
            _ => {
                let ch = self.text[self.at - 1..].chars().next().unwrap_or('?');
                self.at += ch.len_utf8() - 1;
                return Err(self.error(start, format!("unknown escape sequence \\{ch}")));
            }
        };
        let from = self.at;
        for _ in 0..digits {
            match self.peek(0) {
                Some(d) if (d as char).is_digit(radix) => self.at += 1,
                _ => return Err(self.error(start, "escape sequence too short")),
            }
        }
        let value = u32::from_str_radix(&self.text[from..self.at], radix)
            .map_err(|_| self.error(start, "malformed escape sequence"))?;
        if bytes && matches!(c, b'x' | b'X' | b'0'..=b'3') {
            out.push(value as u8);
            return Ok(());
        }
        let ch =
            char::from_u32(value).ok_or_else(|| self.error(start, "escape sequence is not a Unicode scalar value"))?;
        let mut buf = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
}

/// Whether `word` is reserved by CEL.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}
