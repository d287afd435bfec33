//! date, time, timetz, timestamp, timestamptz and interval.
//!
//! Text input is what PostgreSQL writes with `DateStyle = ISO` (`2024-01-15`, `04:05:06.789`,
//! `2024-01-15 04:05:06+05:30`, ` BC` suffix, `infinity`) and, for intervals, with `IntervalStyle`
//! `postgres`, `postgres_verbose` or `iso_8601`. Fractions of a second beyond microseconds are
//! rounded (half to even), as PostgreSQL does. Text output is ISO, in UTC for timestamptz, and
//! ISO 8601 (`P1Y2M3DT4H5M6.789S`) for intervals, which PostgreSQL reads whatever its
//! `DateStyle` and `IntervalStyle`.

use super::{
    Reader, Res, exact, is_space, malformed, push_i64, push_padded, trim, unrepresentable,
};

/// Microseconds in a second.
const USECS_PER_SEC: i64 = 1_000_000;
/// Microseconds in a minute.
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
/// Microseconds in an hour.
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
/// Microseconds in a day.
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// The Julian day of 2000-01-01, the epoch of the binary forms.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// The first Julian day past the date range (5874898-01-01).
const DATE_END_JULIAN: i64 = 2_147_483_494;
/// The smallest valid timestamp (4714-11-24 00:00:00 BC).
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
/// The first timestamp past the valid range (294277-01-01 00:00:00).
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;
/// Time zone offsets must be strictly smaller than this many seconds (`TZDISP_LIMIT`).
const TZDISP_LIMIT: i64 = 16 * 3600;

/// PostgreSQL's `date2j`: the Julian day of a (proleptic Gregorian, astronomical-year) date.
fn date2j(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month > 2 {
        (year + 4800, month + 1)
    } else {
        (year + 4799, month + 13)
    };
    let century = y / 100;
    let mut julian = y * 365 - 32167;
    julian += y / 4 - century + century / 4;
    julian + 7834 * m / 256 + day
}

/// PostgreSQL's `j2date` for a non-negative Julian day: (astronomical year, month, day).
fn j2date(jd: i64) -> (i64, i64, i64) {
    let mut julian = jd + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let q = julian * 2141 / 65536;
    (y - 4800, (q + 10) % 12 + 1, julian - 7834 * q / 256)
}

/// Days in `month` of astronomical `year` (proleptic Gregorian).
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over text being parsed.
struct Cur<'a> {
    /// The text.
    s: &'a [u8],
    /// The position.
    i: usize,
}

impl<'a> Cur<'a> {
    /// A cursor at the start of `s`.
    fn new(s: &'a [u8]) -> Self {
        Cur { s, i: 0 }
    }

    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// The byte after the next, if any.
    fn peek2(&self) -> Option<u8> {
        self.s.get(self.i + 1).copied()
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Skips whitespace.
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.i += 1;
        }
    }

    /// A run of `min..=max` decimal digits (a longer run is an error).
    fn uint(&mut self, min: usize, max: usize) -> Option<i64> {
        let n = self.s[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n < min || n > max {
            return None;
        }
        let v = self.s[self.i..self.i + n]
            .iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
        self.i += n;
        Some(v)
    }

    /// Exactly `n` decimal digits (more may follow).
    fn fixed(&mut self, n: usize) -> Option<i64> {
        let digits = self.s.get(self.i..self.i + n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(
            digits
                .iter()
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0')),
        )
    }

    /// Whether everything has been consumed.
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
}

/// Reads the digits of a fraction (after the point) as microseconds, rounding half to even past
/// the sixth digit. Returns 0..=1_000_000.
fn fraction_usecs(c: &mut Cur<'_>) -> Option<i64> {
    let digits = &c.s[c.i..];
    let n = digits.iter().take_while(|d| d.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let digits = &digits[..n];
    c.i += n;
    let mut v = 0i64;
    for k in 0..6 {
        v = v * 10 + digits.get(k).map_or(0, |&d| i64::from(d - b'0'));
    }
    if let Some(&d7) = digits.get(6) {
        let sticky = digits[7..].iter().any(|&d| d != b'0');
        if d7 > b'5' || (d7 == b'5' && (sticky || v % 2 == 1)) {
            v += 1;
        }
    }
    Some(v)
}

/// `HH:MM[:SS[.ffffff]]` (hours 0..=24, at most `24:00:00`) as microseconds since midnight.
fn parse_time(c: &mut Cur<'_>) -> Option<i64> {
    let h = c.uint(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.uint(1, 2)?;
    let (mut s, mut f) = (0, 0);
    if c.eat(b':') {
        s = c.uint(1, 2)?;
        if c.eat(b'.') {
            f = fraction_usecs(c)?;
        }
    }
    if h > 24 || m > 59 || s > 60 {
        return None;
    }
    let t = h * USECS_PER_HOUR + m * USECS_PER_MINUTE + s * USECS_PER_SEC + f;
    (t <= USECS_PER_DAY).then_some(t)
}

/// A numeric UTC offset `+HH[:MM[:SS]]` / `+HHMM[SS]` or `Z`, as seconds east of UTC.
fn parse_tz(c: &mut Cur<'_>) -> Option<i64> {
    let neg = match c.peek()? {
        b'Z' | b'z' => {
            c.i += 1;
            return Some(0);
        }
        b'+' => false,
        b'-' => true,
        _ => return None,
    };
    c.i += 1;
    let run = c.s[c.i..].iter().take_while(|d| d.is_ascii_digit()).count();
    let (h, mut m, mut s) = match run {
        1 | 2 => (c.uint(1, 2)?, 0, 0),
        4 => (c.fixed(2)?, c.fixed(2)?, 0),
        6 => (c.fixed(2)?, c.fixed(2)?, c.fixed(2)?),
        _ => return None,
    };
    if run <= 2 && c.peek() == Some(b':') && c.peek2().is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        m = c.uint(2, 2)?;
        if c.peek() == Some(b':') && c.peek2().is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
            s = c.uint(2, 2)?;
        }
    }
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    let secs = h * 3600 + m * 60 + s;
    Some(if neg { -secs } else { secs })
}

/// `YYYY-MM-DD` as (year as written, month, day).
fn parse_ymd(c: &mut Cur<'_>) -> Option<(i64, i64, i64)> {
    let y = c.uint(1, 9)?;
    if !c.eat(b'-') {
        return None;
    }
    let m = c.uint(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let d = c.uint(1, 2)?;
    Some((y, m, d))
}

/// An optional era suffix (` BC` / ` AD`), then the end of the text. Returns whether BC.
fn parse_era_and_end(c: &mut Cur<'_>) -> Option<bool> {
    c.skip_ws();
    let rest = &c.s[c.i..];
    if rest.is_empty() {
        Some(false)
    } else if rest.eq_ignore_ascii_case(b"BC") && c.i > 0 && is_space(c.s[c.i - 1]) {
        Some(true)
    } else if rest.eq_ignore_ascii_case(b"AD") && c.i > 0 && is_space(c.s[c.i - 1]) {
        Some(false)
    } else {
        None
    }
}

/// The Julian day of a date as written (year >= 1, with era), if the date exists.
fn julian_day(year: i64, bc: bool, month: i64, day: i64) -> Option<i64> {
    if year == 0 || !(1..=12).contains(&month) {
        return None;
    }
    let year = if bc { 1 - year } else { year };
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(date2j(year, month, day))
}

/// Recognises `infinity` / `-infinity` (and `+infinity`): Some(true) for +, Some(false) for -.
fn infinity(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"infinity") || s.eq_ignore_ascii_case(b"+infinity") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"-infinity") {
        Some(false)
    } else {
        None
    }
}

/// date: `YYYY-MM-DD[ BC]` or `±infinity` to i32 days since 2000-01-01 (infinity = i32::MAX/MIN).
pub(crate) fn date_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let s = trim(text);
    let v = match infinity(s) {
        Some(true) => i32::MAX,
        Some(false) => i32::MIN,
        None => {
            let bad = || malformed(oid, "not an ISO date");
            let mut c = Cur::new(s);
            let (y, m, d) = parse_ymd(&mut c).ok_or_else(bad)?;
            let bc = parse_era_and_end(&mut c).ok_or_else(bad)?;
            let jd = julian_day(y, bc, m, d).ok_or_else(|| malformed(oid, "no such date"))?;
            if !(0..DATE_END_JULIAN).contains(&jd) {
                return Err(malformed(oid, "date out of range"));
            }
            (jd - POSTGRES_EPOCH_JDATE) as i32
        }
    };
    out.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// Appends `YYYY-MM-DD` for a Julian day (>= 0); returns whether the date is BC.
fn push_date(out: &mut Vec<u8>, jd: i64) -> bool {
    let (y, m, d) = j2date(jd);
    let bc = y <= 0;
    let y = if bc { 1 - y } else { y };
    push_padded(out, y as u64, 4);
    out.push(b'-');
    push_padded(out, m as u64, 2);
    out.push(b'-');
    push_padded(out, d as u64, 2);
    bc
}

/// Appends `HH:MM:SS[.ffffff]` (trailing zeros of the fraction dropped) for 0..=24h.
fn push_time(out: &mut Vec<u8>, t: i64) {
    let t = t as u64;
    push_padded(out, t / USECS_PER_HOUR as u64, 2);
    out.push(b':');
    push_padded(out, t / USECS_PER_MINUTE as u64 % 60, 2);
    out.push(b':');
    push_padded(out, t / USECS_PER_SEC as u64 % 60, 2);
    push_fraction(out, t % USECS_PER_SEC as u64);
}

/// Appends `.ffffff` without trailing zeros, or nothing for 0.
fn push_fraction(out: &mut Vec<u8>, mut usecs: u64) {
    if usecs == 0 {
        return;
    }
    let mut width = 6;
    while usecs % 10 == 0 {
        usecs /= 10;
        width -= 1;
    }
    out.push(b'.');
    push_padded(out, usecs, width);
}

/// Appends a UTC offset given in seconds east as `+HH[:MM[:SS]]`.
fn push_tz(out: &mut Vec<u8>, east: i64) {
    out.push(if east >= 0 { b'+' } else { b'-' });
    let a = east.unsigned_abs();
    push_padded(out, a / 3600, 2);
    if a % 3600 != 0 {
        out.push(b':');
        push_padded(out, a / 60 % 60, 2);
        if a % 60 != 0 {
            out.push(b':');
            push_padded(out, a % 60, 2);
        }
    }
}

/// date: i32 days since 2000-01-01 to `YYYY-MM-DD[ BC]` or `infinity`/`-infinity`.
pub(crate) fn date_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let v = i32::from_be_bytes(exact(oid, bytes)?);
    match v {
        i32::MAX => out.extend_from_slice(b"infinity"),
        i32::MIN => out.extend_from_slice(b"-infinity"),
        _ => {
            let jd = i64::from(v) + POSTGRES_EPOCH_JDATE;
            if !(0..DATE_END_JULIAN).contains(&jd) {
                return Err(unrepresentable(oid, "date out of range"));
            }
            if push_date(out, jd) {
                out.extend_from_slice(b" BC");
            }
        }
    }
    Ok(())
}

/// time: `HH:MM:SS[.ffffff]` to i64 microseconds since midnight.
pub(crate) fn time_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let mut c = Cur::new(trim(text));
    let t = parse_time(&mut c).filter(|_| c.done());
    let t = t.ok_or_else(|| malformed(oid, "not a time of day"))?;
    out.extend_from_slice(&t.to_be_bytes());
    Ok(())
}

/// time: i64 microseconds since midnight (0..=24h, as `time_recv` checks) to text.
pub(crate) fn time_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let t = i64::from_be_bytes(exact(oid, bytes)?);
    if !(0..=USECS_PER_DAY).contains(&t) {
        return Err(malformed(oid, "time out of range"));
    }
    push_time(out, t);
    Ok(())
}

/// timetz: `HH:MM:SS[.ffffff]+HH[:MM[:SS]]` to i64 microseconds and i32 offset in seconds WEST of
/// UTC.
pub(crate) fn timetz_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let mut c = Cur::new(trim(text));
    let parsed = parse_time(&mut c).and_then(|t| {
        c.skip_ws();
        let east = parse_tz(&mut c)?;
        c.done().then_some((t, east))
    });
    let (t, east) = parsed.ok_or_else(|| malformed(oid, "not a time of day with a UTC offset"))?;
    out.extend_from_slice(&t.to_be_bytes());
    out.extend_from_slice(&(-east as i32).to_be_bytes());
    Ok(())
}

/// timetz: i64 microseconds and i32 offset west (validated as `timetz_recv` does) to text.
pub(crate) fn timetz_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let mut r = Reader::new(oid, bytes);
    let t = r.i64()?;
    let zone = i64::from(r.i32()?);
    r.finish()?;
    if !(0..=USECS_PER_DAY).contains(&t) {
        return Err(malformed(oid, "time out of range"));
    }
    if zone <= -TZDISP_LIMIT || zone >= TZDISP_LIMIT {
        return Err(malformed(oid, "time zone displacement out of range"));
    }
    push_time(out, t);
    push_tz(out, -zone);
    Ok(())
}

/// timestamp / timestamptz (`with_tz`): `YYYY-MM-DD[ HH:MM:SS[.ffffff]][offset][ BC]` or
/// `±infinity` to i64 microseconds since 2000-01-01 00:00 (UTC for timestamptz, whose text must
/// carry its UTC offset; a timestamp's must not).
pub(crate) fn timestamp_text_to_binary(
    oid: u32,
    text: &[u8],
    with_tz: bool,
    out: &mut Vec<u8>,
) -> Res {
    let s = trim(text);
    let v = match infinity(s) {
        Some(true) => i64::MAX,
        Some(false) => i64::MIN,
        None => {
            let bad = || {
                malformed(
                    oid,
                    if with_tz {
                        "not an ISO timestamp with a UTC offset"
                    } else {
                        "not an ISO timestamp without time zone"
                    },
                )
            };
            let mut c = Cur::new(s);
            let (y, m, d) = parse_ymd(&mut c).ok_or_else(bad)?;
            let mut t = 0;
            if matches!(c.peek(), Some(b' ' | b'T' | b't'))
                && c.peek2().is_some_and(|d| d.is_ascii_digit())
            {
                c.i += 1;
                t = parse_time(&mut c).ok_or_else(bad)?;
            }
            let mut east = 0;
            if with_tz {
                c.skip_ws();
                east = parse_tz(&mut c).ok_or_else(bad)?;
            }
            let bc = parse_era_and_end(&mut c).ok_or_else(bad)?;
            let jd = julian_day(y, bc, m, d).ok_or_else(|| malformed(oid, "no such date"))?;
            // Only the result (in UTC) must be in range: the smallest timestamptz written in a
            // zone west of UTC has a local date before Julian day 0.
            let v = (jd - POSTGRES_EPOCH_JDATE) as i128 * USECS_PER_DAY as i128 + t as i128
                - east as i128 * USECS_PER_SEC as i128;
            if v < MIN_TIMESTAMP as i128 || v >= END_TIMESTAMP as i128 {
                return Err(malformed(oid, "timestamp out of range"));
            }
            v as i64
        }
    };
    out.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// timestamp / timestamptz: i64 microseconds since 2000-01-01 (validated as `timestamp_recv`
/// does) to `YYYY-MM-DD HH:MM:SS[.ffffff][+00][ BC]` (timestamptz in UTC) or `±infinity`.
pub(crate) fn timestamp_binary_to_text(
    oid: u32,
    bytes: &[u8],
    with_tz: bool,
    out: &mut Vec<u8>,
) -> Res {
    let v = i64::from_be_bytes(exact(oid, bytes)?);
    match v {
        i64::MAX => out.extend_from_slice(b"infinity"),
        i64::MIN => out.extend_from_slice(b"-infinity"),
        _ => {
            if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&v) {
                return Err(malformed(oid, "timestamp out of range"));
            }
            let days = v.div_euclid(USECS_PER_DAY);
            let bc = push_date(out, days + POSTGRES_EPOCH_JDATE);
            out.push(b' ');
            push_time(out, v.rem_euclid(USECS_PER_DAY));
            if with_tz {
                out.extend_from_slice(b"+00");
            }
            if bc {
                out.extend_from_slice(b" BC");
            }
        }
    }
    Ok(())
}

/// The parts of an interval being added up.
#[derive(Default)]
struct Span {
    /// Months.
    months: i128,
    /// Days.
    days: i128,
    /// Microseconds.
    usecs: i128,
}

/// A signed decimal number as written in an interval: (negative, integer part, fraction in
/// microseconds or None when there was no point).
type Number = (bool, i64, Option<i64>);

/// Parses `[+-]digits[.digits]` (at least one digit; a fraction as rounded microseconds) at
/// the cursor.
fn parse_number(c: &mut Cur<'_>) -> Option<Number> {
    let neg = match c.peek()? {
        b'-' => {
            c.i += 1;
            true
        }
        b'+' => {
            c.i += 1;
            false
        }
        _ => false,
    };
    let start = c.i;
    let int = if c.peek().is_some_and(|d| d.is_ascii_digit()) {
        c.uint(1, 18)?
    } else {
        0
    };
    let had_int = c.i > start;
    let frac = if c.eat(b'.') {
        if c.peek().is_some_and(|d| d.is_ascii_digit()) {
            Some(fraction_usecs(c)?)
        } else if had_int {
            Some(0)
        } else {
            return None;
        }
    } else {
        None
    };
    if !had_int && frac.is_none() {
        return None;
    }
    Some((neg, int, frac))
}

/// How a unit word adds to an interval.
#[derive(Clone, Copy)]
enum Unit {
    /// This many months.
    Months(i128),
    /// This many days.
    Days(i128),
    /// This many microseconds.
    Usecs(i128),
}

/// The unit named by an interval unit word (as `postgres` / `postgres_verbose` write them, and
/// the common spellings), and whether it may have a fraction.
fn unit_word(w: &[u8]) -> Option<(Unit, bool)> {
    let lower = |word: &[u8]| w.eq_ignore_ascii_case(word);
    Some(
        if lower(b"year") || lower(b"years") || lower(b"yr") || lower(b"yrs") {
            (Unit::Months(12), false)
        } else if lower(b"mon") || lower(b"mons") || lower(b"month") || lower(b"months") {
            (Unit::Months(1), false)
        } else if lower(b"week") || lower(b"weeks") {
            (Unit::Days(7), false)
        } else if lower(b"day") || lower(b"days") {
            (Unit::Days(1), false)
        } else if lower(b"hour") || lower(b"hours") || lower(b"hr") || lower(b"hrs") {
            (Unit::Usecs(USECS_PER_HOUR as i128), false)
        } else if lower(b"min") || lower(b"mins") || lower(b"minute") || lower(b"minutes") {
            (Unit::Usecs(USECS_PER_MINUTE as i128), false)
        } else if lower(b"sec") || lower(b"secs") || lower(b"second") || lower(b"seconds") {
            (Unit::Usecs(USECS_PER_SEC as i128), true)
        } else {
            return None;
        },
    )
}

impl Span {
    /// Adds `n` of `unit`; a fraction only where allowed (seconds).
    fn add(&mut self, unit: Unit, frac_ok: bool, (neg, int, frac): Number) -> Option<()> {
        let sign = if neg { -1 } else { 1 };
        if frac.is_some_and(|f| f != 0) && !frac_ok {
            return None;
        }
        let int = i128::from(int) * sign;
        match unit {
            Unit::Months(k) => self.months += int * k,
            Unit::Days(k) => self.days += int * k,
            Unit::Usecs(k) => {
                self.usecs += int * k;
                // A fraction is only allowed on seconds, where k is a million.
                self.usecs += i128::from(frac.unwrap_or(0)) * sign;
            }
        }
        Some(())
    }

    /// Writes the binary form, if the parts fit.
    fn write(&self, out: &mut Vec<u8>) -> Option<()> {
        let usecs = i64::try_from(self.usecs).ok()?;
        let days = i32::try_from(self.days).ok()?;
        let months = i32::try_from(self.months).ok()?;
        out.extend_from_slice(&usecs.to_be_bytes());
        out.extend_from_slice(&days.to_be_bytes());
        out.extend_from_slice(&months.to_be_bytes());
        Some(())
    }
}

/// ISO 8601 `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]` (numbers signed; fractions on seconds only).
fn parse_iso_interval(s: &[u8]) -> Option<Span> {
    let mut c = Cur::new(s.strip_prefix(b"P")?);
    let mut span = Span::default();
    let mut in_time = false;
    let mut any = false;
    while !c.done() {
        if c.eat(b'T') {
            if in_time || c.done() {
                return None;
            }
            in_time = true;
            continue;
        }
        let n = parse_number(&mut c)?;
        let (unit, frac_ok) = match (c.peek()?, in_time) {
            (b'Y', false) => (Unit::Months(12), false),
            (b'M', false) => (Unit::Months(1), false),
            (b'W', false) => (Unit::Days(7), false),
            (b'D', false) => (Unit::Days(1), false),
            (b'H', true) => (Unit::Usecs(USECS_PER_HOUR as i128), false),
            (b'M', true) => (Unit::Usecs(USECS_PER_MINUTE as i128), false),
            (b'S', true) => (Unit::Usecs(USECS_PER_SEC as i128), true),
            _ => return None,
        };
        c.i += 1;
        span.add(unit, frac_ok, n)?;
        any = true;
    }
    any.then_some(span)
}

/// A `postgres`-style time token `[+-]H+:MM[:SS[.ffffff]]` as signed microseconds.
fn parse_interval_time(tok: &[u8]) -> Option<i128> {
    let mut c = Cur::new(tok);
    let neg = if c.eat(b'-') {
        true
    } else {
        c.eat(b'+');
        false
    };
    let h = c.uint(1, 12)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.uint(1, 2)?;
    let (mut s, mut f) = (0, 0);
    if c.eat(b':') {
        s = c.uint(1, 2)?;
        if c.eat(b'.') {
            f = fraction_usecs(&mut c)?;
        }
    }
    if !c.done() || m > 59 || s > 60 {
        return None;
    }
    let t = i128::from(h) * USECS_PER_HOUR as i128
        + i128::from(m * USECS_PER_MINUTE + s * USECS_PER_SEC + f);
    Some(if neg { -t } else { t })
}

/// `postgres` (`1 year 2 mons -3 days +04:05:06.789`) and `postgres_verbose`
/// (`@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs ago`) interval text.
fn parse_postgres_interval(s: &[u8]) -> Option<Span> {
    let mut toks = s
        .split(|&b| is_space(b))
        .filter(|t| !t.is_empty())
        .peekable();
    if toks.peek() == Some(&&b"@"[..]) {
        toks.next();
    }
    let mut span = Span::default();
    let mut any = false;
    let mut ago = false;
    while let Some(tok) = toks.next() {
        if ago {
            return None; // "ago" must be last
        }
        any = true;
        if tok.eq_ignore_ascii_case(b"ago") {
            ago = true;
            continue;
        }
        if tok.contains(&b':') {
            span.usecs += parse_interval_time(tok)?;
            continue;
        }
        let mut c = Cur::new(tok);
        let n = parse_number(&mut c)?;
        if !c.done() {
            return None;
        }
        match toks.peek().copied() {
            Some(w) if unit_word(w).is_some() => {
                let (unit, frac_ok) = unit_word(w)?;
                toks.next();
                span.add(unit, frac_ok, n)?;
            }
            // A bare number at the end is seconds (as `DecodeInterval`; `@ 0` is how
            // postgres_verbose writes zero). A bare number before a time is refused: only
            // IntervalStyle sql_standard writes that, where `-3 4:05:06` is -3 days -04:05:06
            // (one sign for all) but would read as -3 days +04:05:06 here.
            None => span.add(Unit::Usecs(USECS_PER_SEC as i128), true, n)?,
            Some(w) if w.eq_ignore_ascii_case(b"ago") => {
                span.add(Unit::Usecs(USECS_PER_SEC as i128), true, n)?
            }
            Some(_) => return None,
        }
    }
    if !any {
        return None;
    }
    if ago {
        span.months = -span.months;
        span.days = -span.days;
        span.usecs = -span.usecs;
    }
    Some(span)
}

/// interval: text in IntervalStyle `postgres`, `postgres_verbose` or `iso_8601` to i64
/// microseconds, i32 days, i32 months. `sql_standard` text is refused (`1-2`, `3 4:05:06`,
/// `+1-2 -3 +4:05:06` are errors), except where it reads the same (`0`, `-4:05:06`).
pub(crate) fn interval_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let s = trim(text);
    let span = if s.first() == Some(&b'P') {
        parse_iso_interval(s)
    } else {
        parse_postgres_interval(s)
    };
    let span = span.ok_or_else(|| malformed(oid, "not an interval in a supported style"))?;
    span.write(out)
        .ok_or_else(|| malformed(oid, "interval out of range"))
}

/// Appends `v` and `unit` unless `v` is zero.
fn push_iso_part(out: &mut Vec<u8>, v: i64, unit: u8) {
    if v != 0 {
        push_i64(out, v);
        out.push(unit);
    }
}

/// interval: binary to ISO 8601 text exactly as PostgreSQL writes it with `IntervalStyle =
/// iso_8601` (`P1Y2M3DT4H5M6.789S`, `PT0S`).
pub(crate) fn interval_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let mut r = Reader::new(oid, bytes);
    let time = r.i64()?;
    let days = i64::from(r.i32()?);
    let months = i64::from(r.i32()?);
    r.finish()?;
    let (year, mon) = (months / 12, months % 12);
    let hour = time / USECS_PER_HOUR;
    let rest = time - hour * USECS_PER_HOUR;
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;
    if months == 0 && days == 0 && time == 0 {
        out.extend_from_slice(b"PT0S");
        return Ok(());
    }
    out.push(b'P');
    push_iso_part(out, year, b'Y');
    push_iso_part(out, mon, b'M');
    push_iso_part(out, days, b'D');
    if time != 0 {
        out.push(b'T');
    }
    push_iso_part(out, hour, b'H');
    push_iso_part(out, min, b'M');
    if sec != 0 || fsec != 0 {
        if sec < 0 || fsec < 0 {
            out.push(b'-');
        }
        super::push_u64(out, sec.unsigned_abs());
        push_fraction(out, fsec.unsigned_abs());
        out.push(b'S');
    }
    Ok(())
}
