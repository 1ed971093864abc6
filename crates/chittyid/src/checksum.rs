//! ISO/IEC 7064 MOD 37-36: a hybrid check-character system over the 36 characters `0-9A-Z`.
//! It detects every single-character substitution and every transposition of two adjacent
//! characters.

/// The alphabet, in value order.
pub const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const M: u32 = 36;

fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

fn step(p: u32, v: u32) -> u32 {
    let mut s = (p + v) % M;
    if s == 0 {
        s = M;
    }
    (s * 2) % (M + 1)
}

/// The check character of `data` (characters of `0-9A-Z`); `None` for any other character.
pub fn check_char(data: &[u8]) -> Option<u8> {
    let p = data
        .iter()
        .try_fold(M, |p, c| value(*c).map(|v| step(p, v)))?;
    let check = (M + 1 - p) % M;
    Some(ALPHABET[check as usize])
}

/// Whether `check` is the check character of `data`.
pub fn is_valid(data: &[u8], check: u8) -> bool {
    check_char(data) == Some(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defining property: processing data then check ends in the state 1.
    #[test]
    fn data_plus_check_reduces_to_one() {
        for data in [&b"01ACHI7K3M9QXPI26110"[..], b"0", b"ZZZZ", b"A1B2C3"] {
            let check = check_char(data).unwrap();
            let p = data.iter().fold(M, |p, c| step(p, value(*c).unwrap()));
            assert_eq!((p + value(check).unwrap()) % M, 1);
        }
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(check_char(b"01-A"), None);
        assert_eq!(check_char(b"abc"), None);
    }
}
