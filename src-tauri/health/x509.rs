//! Reading a certificate's expiry (`notAfter`) from its DER encoding.
//!
//! This is the one field the health check needs; a full X.509 parser would add a dozen crates
//! to the build for it. The walk is bounds-checked at every step and returns `None` on anything
//! unexpected (the bytes come from a remote server).

use chrono::{DateTime, NaiveDate, Utc};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match element(input)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

/// The certificate's `notAfter`.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let (_serial, rest) = expect(rest, INTEGER)?;
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (_, _not_before, rest) = element(validity)?;
    let (tag, not_after, _) = element(rest)?;
    parse_time(tag, not_after)
}

/// UTCTime `YYMMDDHHMMSSZ` (years 1950..2049) or GeneralizedTime `YYYYMMDDHHMMSSZ`.
fn parse_time(tag: u8, bytes: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let n = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(year, n(0)?, n(2)?)?
        .and_hms_opt(n(4)?, n(6)?, n(8)?)
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn certificate(not_after: (i32, u8, u8)) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_not_after_from_generated_certificates() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime from then on.
        for (y, m, d) in [(2030, 1, 15), (2049, 12, 31), (2051, 6, 1)] {
            let got = not_after(&certificate((y, m, d))).unwrap();
            assert_eq!(
                got,
                Utc.with_ymd_and_hms(y, u32::from(m), u32::from(d), 0, 0, 0)
                    .unwrap()
            );
        }
    }

    #[test]
    fn rejects_malformed_input_without_panicking() {
        let good = certificate((2030, 1, 15));
        for cut in [0, 1, 2, 10, good.len() / 2, good.len() - 1] {
            // A truncated certificate has wrong lengths; whatever it yields must not panic.
            let _ = not_after(&good[..cut]);
        }
        assert_eq!(not_after(&[]), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(not_after(b"not a certificate"), None);
        assert_eq!(parse_time(UTC_TIME, b"3001150000Z"), None);
        assert_eq!(parse_time(UTC_TIME, b"300115000000"), None);
        assert_eq!(parse_time(UTC_TIME, b"301315000000Z"), None);
        assert_eq!(
            parse_time(UTC_TIME, b"491231235959Z"),
            Some(Utc.with_ymd_and_hms(2049, 12, 31, 23, 59, 59).unwrap())
        );
        assert_eq!(
            parse_time(UTC_TIME, b"500101000000Z"),
            Some(Utc.with_ymd_and_hms(1950, 1, 1, 0, 0, 0).unwrap())
        );
    }
}
