//! What a dispatcher types into the search box, taken apart: plain
//! coordinates, or a name, or two names of crossing roads.

use crate::geo::{BoundingBox, LatLon};

/// Words that only say "the crossing of", at the end of an intersection
/// query ("凤台街与书院街交叉口"), longest first.
const CROSSING_WORDS: [&str; 8] = [
    "十字路口",
    "丁字路口",
    "交叉路口",
    "交叉口",
    "交汇处",
    "交口",
    "路口",
    "附近",
];

/// Characters and words that join the two roads of an intersection.
const JOINERS: [&str; 11] = ["与", "和", "跟", "/", "／", "、", "&", "＆", "×", "+", "交"];

/// Takes trailing crossing words off a normalised or raw query; says
/// whether any were there.
pub(crate) fn strip_crossing_words(text: &str) -> (&str, bool) {
    let mut rest = text.trim();
    let mut stripped = false;
    loop {
        let before = rest;
        for word in CROSSING_WORDS {
            if let Some(r) = rest.strip_suffix(word)
                && !r.trim().is_empty()
            {
                rest = r.trim_end();
                stripped = true;
                break;
            }
        }
        if rest == before {
            return (rest, stripped);
        }
    }
}

/// Every way of cutting a query into two roads at a joiner, as (left,
/// right) raw texts. A joiner may also be part of a name ("和平路"), so
/// every cut is returned and each is scored.
pub(crate) fn intersection_splits(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for joiner in JOINERS {
        for (at, _) in text.match_indices(joiner) {
            let (left, right) = (&text[..at], &text[at + joiner.len()..]);
            if !left.trim().is_empty() && !right.trim().is_empty() {
                out.push((left, right));
            }
        }
    }
    // Two names separated by a space alone ("凤台街 书院街").
    if out.is_empty() {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() == 2 {
            out.push((words[0], words[1]));
        }
    }
    out
}

/// Two numbers pasted as a coordinate, in either order ("35.49, 112.85",
/// "112.85 35.49", "N35.49° E112.85°"). Where both orders are valid, the
/// one inside (or nearer) the map's box wins; latitude first on a tie.
pub(crate) fn coordinates(text: &str, map: &BoundingBox) -> Option<LatLon> {
    let numbers = numbers(text)?;
    let [a, b] = numbers.as_slice() else {
        return None;
    };
    let as_given = LatLon::new(*a, *b).ok();
    let swapped = LatLon::new(*b, *a).ok();
    match (as_given, swapped) {
        (Some(x), Some(y)) => {
            if distance_outside(map, y) < distance_outside(map, x) {
                Some(y)
            } else {
                Some(x)
            }
        }
        (x, y) => x.or(y),
    }
}

/// The numbers in a text, or `None` when it holds anything but numbers,
/// separators and the letters and signs of a coordinate.
fn numbers(text: &str) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<f64>| -> Option<()> {
        if !current.is_empty() {
            out.push(current.parse::<f64>().ok()?);
            current.clear();
        }
        Some(())
    };
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        match c {
            '0'..='9' | '.' => current.push(c),
            '-' if current.is_empty() => current.push(c),
            ',' | ' ' | ';' | '，' | '、' | '\t' | '°' | '(' | ')' | 'N' | 'n' | 'E' | 'e'
            | '北' | '东' | '纬' | '经' | '：' | ':' => flush(&mut current, &mut out)?,
            _ => return None,
        }
    }
    flush(&mut current, &mut out)?;
    Some(out)
}

/// How far outside the box a point is, in degrees (0 inside).
fn distance_outside(b: &BoundingBox, p: LatLon) -> f64 {
    let dlat = (b.min_lat - p.lat()).max(p.lat() - b.max_lat).max(0.0);
    let dlon = (b.min_lon - p.lon()).max(p.lon() - b.max_lon).max(0.0);
    dlat.hypot(dlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jincheng() -> BoundingBox {
        BoundingBox {
            min_lat: 35.2,
            min_lon: 111.9,
            max_lat: 36.1,
            max_lon: 113.7,
        }
    }

    #[test]
    fn coordinates_are_read_in_either_order() {
        let at = |t: &str| coordinates(t, &jincheng()).map(|p| (p.lat(), p.lon()));
        assert_eq!(at("35.49, 112.85"), Some((35.49, 112.85)));
        assert_eq!(at("112.85 35.49"), Some((35.49, 112.85)));
        assert_eq!(at("N35.49° E112.85°"), Some((35.49, 112.85)));
        assert_eq!(at("３５.４９，１１２.８５"), Some((35.49, 112.85)));
        // Both orders valid, neither near the map: latitude first.
        assert_eq!(at("10.5 20.5"), Some((10.5, 20.5)));
        assert_eq!(at("凤台街 35.49"), None);
        assert_eq!(at("35.49"), None);
        assert_eq!(at("200 300"), None);
    }

    #[test]
    fn crossing_words_and_joiners_are_recognised() {
        assert_eq!(
            strip_crossing_words("凤台街/书院街交叉口"),
            ("凤台街/书院街", true)
        );
        assert_eq!(
            strip_crossing_words("凤台街和书院街路口"),
            ("凤台街和书院街", true)
        );
        assert_eq!(strip_crossing_words("路口"), ("路口", false));
        assert_eq!(
            intersection_splits("凤台街与书院街"),
            vec![("凤台街", "书院街")]
        );
        assert_eq!(
            intersection_splits("和平路和书院街"),
            vec![("和平路", "书院街")],
            "a joiner at the very start cuts nothing"
        );
        assert_eq!(
            intersection_splits("凤台街 书院街"),
            vec![("凤台街", "书院街")]
        );
        assert!(intersection_splits("凤台街").is_empty());
    }
}
