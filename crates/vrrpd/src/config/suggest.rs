//! "Did you mean …?": the closest known word to a misspelt one.
//!
//! A plain Levenshtein distance over characters (a few dozen candidates of a
//! few dozen characters: no need for a crate; see docs/decisions.md).

/// The candidate closest to `word`, if it is close enough to be a likely
/// typo: at most one edit for short words, two for words of 6 characters
/// or more, three from 12, and never more than half the word. Ties go to
/// the first candidate.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = match len {
        0..=5 => 1,
        6..=11 => 2,
        _ => 3,
    }
    .min(len / 2)
    .max(1);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The number of single-character insertions, deletions and substitutions
/// (adjacent transpositions count as one) that turn `a` into `b`.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the optimal-string-alignment table.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("priorty", "priority"), 1);
        assert_eq!(distance("prioirty", "priority"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_only_likely_typos() {
        let keys = ["name", "priority", "preempt", "vrid", "interface"];
        assert_eq!(closest("priorty", keys), Some("priority"));
        assert_eq!(closest("Priority", keys), Some("priority"));
        assert_eq!(closest("interfce", keys), Some("interface"));
        assert_eq!(closest("vird", keys), Some("vrid"));
        assert_eq!(closest("zzz_unknown", keys), None);
        assert_eq!(closest("ab", keys), None);
    }
}
