//! CEL's `matches` takes RE2 syntax, and RE2's Perl classes are ASCII: `\d` is `[0-9]`, `\w` is `[0-9A-Za-z_]`,
//! `\s` is `[\t\n\f\r ]`, `\b` an ASCII word boundary. The `regex` crate reads the same syntax with Unicode Perl
//! classes (`\d` matches `٣`), so a pattern is rewritten with those classes spelled out before it is compiled:
//! the same verdict as Confluent's clients (RE2 in Go, Java's RE2/J, Python's google-re2) on every text.

/// `pattern` with RE2's ASCII Perl classes spelled out for the `regex` crate; an error for what cannot be (a
/// negated class such as `\W` inside brackets).
pub fn re2_pattern(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else { return Err("a trailing backslash".into()) };
                let (outside, inside) = match n {
                    'd' => ("[0-9]", Some("0-9")),
                    'D' => ("[^0-9]", None),
                    'w' => ("[0-9A-Za-z_]", Some("0-9A-Za-z_")),
                    'W' => ("[^0-9A-Za-z_]", None),
                    's' => ("[\\t\\n\\f\\r ]", Some("\\t\\n\\f\\r ")),
                    'S' => ("[^\\t\\n\\f\\r ]", None),
                    'b' if !in_class => ("(?-u:\\b)", None),
                    'B' if !in_class => ("(?-u:\\B)", None),
                    _ => {
                        out.push('\\');
                        out.push(n);
                        continue;
                    }
                };
                match (in_class, inside) {
                    (false, _) => out.push_str(outside),
                    (true, Some(range)) => out.push_str(range),
                    (true, None) => return Err(format!("`\\{n}` inside a character class: spell the class out")),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class (`[:alpha:]`, ASCII in both) inside brackets, copied whole.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_as_in_re2() {
        assert_eq!(re2_pattern(r"^\d+$").unwrap(), "^[0-9]+$");
        assert_eq!(re2_pattern(r"[\w-]+").unwrap(), "[0-9A-Za-z_-]+");
        assert_eq!(re2_pattern(r"\\d\.\pL").unwrap(), r"\\d\.\pL", "escaped backslashes and other escapes stay");
        assert_eq!(re2_pattern(r"[^]\d]").unwrap(), "[^]0-9]");
        assert_eq!(re2_pattern(r"[[:alpha:]\s]").unwrap(), "[[:alpha:]\\t\\n\\f\\r ]");
        assert_eq!(re2_pattern(r"\bword\B").unwrap(), r"(?-u:\b)word(?-u:\B)");
        assert!(re2_pattern(r"[\W]").is_err());
        assert!(re2_pattern("x\\").is_err());
        for p in [r"^\d+$", r"[\w-]+", r"\bword\b", r"\S\D\W"] {
            assert!(regex_syntax::Parser::new().parse(&re2_pattern(p).unwrap()).is_ok(), "{p}");
        }
    }
}
