//! CEL's timestamp and duration literals: RFC 3339 text and Go's duration syntax, parsed to seconds and nanoseconds.

/// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z since the Unix epoch: CEL's timestamp range.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// The largest duration CEL accepts, in seconds (about 10,000 years).
const MAX_DURATION_SECONDS: i128 = 315_576_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &[u8], n: usize) -> Option<i64> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s[..n].iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// An RFC 3339 timestamp (`2024-01-31T12:00:00Z`, `…T12:00:00.5+02:00`): seconds since the epoch and nanoseconds,
/// within CEL's range.
pub fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let s = text.as_bytes();
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(s, 4)?, digits(&s[5..], 2)?, digits(&s[8..], 2)?);
    let (h, mi, sec) = (digits(&s[11..], 2)?, digits(&s[14..], 2)?, digits(&s[17..], 2)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let frac = digits(&rest[1..], n)?;
        nanos = (frac * 10i64.pow(9 - n as u32)) as u32;
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (digits(&rest[1..], 2)?, digits(&rest[4..], 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    (MIN_SECONDS..=MAX_SECONDS).contains(&seconds).then_some((seconds, nanos))
}

/// A duration in Go's syntax (`1h30m`, `-1.5s`, `300ms`, `0`): its length in nanoseconds, within CEL's range.
pub fn parse_duration(text: &str) -> Option<i128> {
    let (negative, mut s) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if s == b"0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
        let (int, rest) = s.split_at(int_len);
        let (frac, rest) = match rest.first() {
            Some(b'.') => {
                let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                (&rest[1..1 + n], &rest[1 + n..])
            }
            _ => (&rest[..0], rest),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = rest.iter().take_while(|c| !c.is_ascii_digit() && **c != b'.').count();
        let (unit, rest) = rest.split_at(unit_len);
        let scale: i128 = match unit {
            b"ns" => 1,
            b"us" | [0xc2, 0xb5, b's'] | [0xce, 0xbc, b's'] => 1_000, // us, µs (micro sign), μs (mu)
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => return None,
        };
        let mut value: i128 = 0;
        for d in int {
            value = value.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
            if value > MAX_DURATION_SECONDS * 1_000_000_000 {
                return None;
            }
        }
        total = total.checked_add(value.checked_mul(scale)?)?;
        let mut place = scale;
        for d in frac {
            place /= 10;
            total += i128::from(d - b'0') * place;
        }
        s = rest;
    }
    if total > MAX_DURATION_SECONDS * 1_000_000_000 {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// A time zone as a timestamp accessor takes it: `UTC`, `Z`, or a fixed offset (`+02:00`, `-0530`), in seconds.
/// Zone names (`Europe/Paris`) need a time zone database, which rules do not carry.
pub fn parse_zone(zone: &str) -> Option<i64> {
    match zone.as_bytes() {
        b"UTC" | b"Z" | b"utc" => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (digits(&[*h1, *h2], 2)?, digits(&[*m1, *m2], 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            Some(if *sign == b'+' { o } else { -o })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_timestamp("2024-02-29T12:30:00.25+02:00"), Some((1_709_202_600, 250_000_000)));
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z"), Some((MIN_SECONDS, 0)));
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999999999Z"), Some((MAX_SECONDS, 999_999_999)));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00.Z",
            "0001-01-01T00:00:00+01:00",
            "x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5s"), Some(-1_500_000_000));
        assert_eq!(parse_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_duration(".5us"), Some(500));
        assert_eq!(parse_duration("315576000000s"), Some(315_576_000_000_000_000_000));
        for bad in ["", "1", "s", "1x", "1.s.", "315576000001s", "99999999999999999999999999999999999999h", "-"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
