//! Near-duplicate fingerprints: a 64-bit simhash of word shingles, the distance between two,
//! and the four 16-bit bands the database indexes to find candidates.

/// SplitMix64's finaliser: spreads FNV's bits so every simhash bit is fair.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= u64::from(b' ');
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    mix(h)
}

/// The 64-bit simhash of `words`' two-word shingles (single words when there is one): each
/// shingle's hash votes on every bit; the majority wins. Stable across processes and builds.
pub fn simhash(words: &[String]) -> u64 {
    let mut votes = [0i32; 64];
    let mut vote = |h: u64| {
        for (bit, v) in votes.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *v += 1;
            } else {
                *v -= 1;
            }
        }
    };
    if words.len() < 2 {
        words.iter().for_each(|w| vote(fnv1a(&[w])));
    } else {
        words.windows(2).for_each(|w| vote(fnv1a(&[&w[0], &w[1]])));
    }
    votes.iter().enumerate().fold(
        0u64,
        |acc, (bit, v)| if *v > 0 { acc | 1 << bit } else { acc },
    )
}

/// Bits that differ between two simhashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The four 16-bit bands of a simhash, high to low, as the `band0`..`band3` columns hold them.
pub(super) fn bands(h: i64) -> [i32; 4] {
    let u = h as u64;
    [
        (u >> 48 & 0xffff) as i32,
        (u >> 32 & 0xffff) as i32,
        (u >> 16 & 0xffff) as i32,
        (u & 0xffff) as i32,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ingest::text::words_of;

    #[test]
    fn simhash_is_close_for_near_duplicates_and_far_otherwise() {
        let a = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this week, any recommendations welcome",
        );
        let b = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this week, any recommendations welcome!!",
        );
        let c = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this weekend, any recommendations welcome",
        );
        let d = words_of(
            "The city council approved the new budget for road repairs and public parks on Tuesday evening",
        );
        assert_eq!(simhash(&a), simhash(&b));
        assert!(
            hamming(simhash(&a), simhash(&c)) <= 12,
            "{}",
            hamming(simhash(&a), simhash(&c))
        );
        assert!(
            hamming(simhash(&a), simhash(&d)) > 16,
            "{}",
            hamming(simhash(&a), simhash(&d))
        );
        // Stable across builds: a fixed value.
        assert_eq!(
            simhash(&words_of("hello world")),
            simhash(&words_of("Hello, world!"))
        );
    }

    #[test]
    fn bands_match_the_database_columns() {
        let h: i64 = -0x0123_4567_89ab_cdef;
        let u = h as u64;
        assert_eq!(bands(h)[0], (u >> 48) as i32);
        assert_eq!(bands(h)[3], (u & 0xffff) as i32);
    }
}
