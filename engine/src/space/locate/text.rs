//! Chinese-aware text for matching names: normalisation, the generic
//! endings of road and place names, pinyin, and the distance between two
//! names.

use pinyin::ToPinyin;

/// Generic endings of road names, longest first, so that "大街" is taken
/// before "街".
const ROAD_SUFFIXES: [&str; 11] = [
    "大道", "大街", "高速", "国道", "省道", "公路", "路", "街", "巷", "道", "线",
];

/// Generic endings of place names, longest first.
const PLACE_SUFFIXES: [&str; 12] = [
    "收费站",
    "派出所",
    "公安局",
    "检查站",
    "社区",
    "医院",
    "广场",
    "公园",
    "村",
    "镇",
    "乡",
    "站",
];

/// Which endings a name is split by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endings {
    Road,
    Place,
}

/// A name taken apart for matching: the distinctive part, its generic
/// ending and, for roads, a section ("二段"). All normalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NameParts {
    pub(crate) core: Vec<char>,
    /// The plain pinyin of each core character (`None` for a character
    /// without one: a digit, a letter).
    pub(crate) core_pinyin: Vec<Option<&'static str>>,
    pub(crate) ending: String,
    pub(crate) section: String,
}

impl NameParts {
    pub(crate) fn of(normalised: &str, endings: Endings) -> Self {
        let mut rest = normalised;
        let mut section = String::new();
        if endings == Endings::Road {
            let chars: Vec<char> = rest.chars().collect();
            if chars.len() >= 3
                && chars[chars.len() - 1] == '段'
                && "一二三四五六七八九十".contains(chars[chars.len() - 2])
            {
                let cut = rest
                    .char_indices()
                    .nth(chars.len() - 2)
                    .map_or(rest.len(), |(i, _)| i);
                section = rest[cut..].to_string();
                rest = &rest[..cut];
            }
        }
        let list: &[&str] = match endings {
            Endings::Road => &ROAD_SUFFIXES,
            Endings::Place => &PLACE_SUFFIXES,
        };
        let mut ending = String::new();
        for suffix in list {
            // A name that is nothing but an ending ("大街") keeps it as its core.
            if rest.len() > suffix.len()
                && let Some(core) = rest.strip_suffix(suffix)
            {
                ending = suffix.to_string();
                rest = core;
                break;
            }
        }
        let core: Vec<char> = rest.chars().collect();
        let core_pinyin = core.iter().map(|&c| syllable(c)).collect();
        NameParts {
            core,
            core_pinyin,
            ending,
            section,
        }
    }
}

/// The plain pinyin of a character, if it has one.
pub(crate) fn syllable(c: char) -> Option<&'static str> {
    c.to_pinyin().map(|p| p.plain())
}

/// Folds what a caller may type differently: full-width letters and digits
/// to ASCII, capitals to small letters; drops spaces and punctuation
/// (including "·", brackets and dashes), keeping letters, digits and
/// ideographs.
pub(crate) fn normalise(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let c = match c as u32 {
                // Full-width ASCII block.
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            c.is_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// The plain pinyin of a text, syllables run together ("凤台街" →
/// "fengtaijie"); characters without pinyin are kept as they are.
pub(crate) fn pinyin_of(chars: &[char]) -> String {
    let mut out = String::new();
    for &c in chars {
        match syllable(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    out
}

/// What replacing one character by another costs: nothing for the same
/// character, a quarter for a homophone (凤苔 for 凤台, typed by pinyin
/// input), one otherwise.
fn substitution(a: char, pa: Option<&str>, b: char, pb: Option<&str>) -> f32 {
    if a == b {
        0.0
    } else if pa.is_some() && pa == pb {
        0.25
    } else {
        1.0
    }
}

/// The edit distance between two cores, homophones cheap; `buffer` is
/// reused between calls.
pub(crate) fn core_distance(
    query: &[char],
    query_pinyin: &[Option<&str>],
    name: &[char],
    name_pinyin: &[Option<&str>],
    buffer: &mut Vec<f32>,
) -> f32 {
    let width = name.len() + 1;
    buffer.clear();
    buffer.extend((0..width).map(|j| j as f32));
    for i in 1..=query.len() {
        let mut diagonal = buffer[0];
        buffer[0] = i as f32;
        for j in 1..width {
            let above = buffer[j];
            let replace = diagonal
                + substitution(
                    query[i - 1],
                    query_pinyin[i - 1],
                    name[j - 1],
                    name_pinyin[j - 1],
                );
            buffer[j] = replace.min(above + 1.0).min(buffer[j - 1] + 1.0);
            diagonal = above;
        }
    }
    buffer[width - 1]
}

/// Plain Levenshtein distance over bytes (for pinyin typed in letters).
pub(crate) fn byte_distance(a: &[u8], b: &[u8], buffer: &mut Vec<f32>) -> f32 {
    let width = b.len() + 1;
    buffer.clear();
    buffer.extend((0..width).map(|j| j as f32));
    for i in 1..=a.len() {
        let mut diagonal = buffer[0];
        buffer[0] = i as f32;
        for j in 1..width {
            let above = buffer[j];
            let cost = if a[i - 1] == b[j - 1] { 0.0 } else { 1.0 };
            buffer[j] = (diagonal + cost).min(above + 1.0).min(buffer[j - 1] + 1.0);
            diagonal = above;
        }
    }
    buffer[width - 1]
}

/// How far a query's core may be from a name's core and still match: a
/// single-character core only by a homophone, a longer one by one wrong,
/// missing or extra character, five or more by two.
pub(crate) fn allowed_distance(core_len: usize) -> f32 {
    match core_len {
        0 => -1.0,
        1 => 0.25,
        2..=4 => 1.0,
        _ => 2.0,
    }
}

/// What a difference in endings costs: a missing ending a little ("凤台"
/// for 凤台街), a wrong one half a character (路 for 街, which callers mix
/// up), and likewise a section.
pub(crate) fn ending_cost(query: &NameParts, name: &NameParts) -> f32 {
    let ending = if query.ending == name.ending {
        0.0
    } else if query.ending.is_empty() {
        0.1
    } else {
        0.5
    };
    let section = if query.section == name.section {
        0.0
    } else if query.section.is_empty() {
        0.1
    } else {
        0.5
    };
    ending + section
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_folds_width_case_spaces_and_punctuation() {
        assert_eq!(normalise(" Ｇ２０７ 国道 "), "g207国道");
        assert_eq!(normalise("凤台街·（东段）"), "凤台街东段");
    }

    #[test]
    fn names_split_into_core_ending_and_section() {
        let p = NameParts::of("北环路二段", Endings::Road);
        assert_eq!(p.core, vec!['北', '环']);
        assert_eq!((p.ending.as_str(), p.section.as_str()), ("路", "二段"));
        let p = NameParts::of("古书院大街", Endings::Road);
        assert_eq!((p.core.len(), p.ending.as_str()), (3, "大街"));
        // The ending is never the whole name: 大街 keeps 大 as its core.
        let p = NameParts::of("大街", Endings::Road);
        assert_eq!((p.core.len(), p.ending.as_str()), (1, "街"));
        let p = NameParts::of("秦家庄收费站", Endings::Place);
        assert_eq!((p.core.len(), p.ending.as_str()), (3, "收费站"));
    }

    #[test]
    fn a_homophone_costs_a_quarter_and_a_wrong_character_one() {
        let d = |a: &str, b: &str| {
            let (a, b) = (
                NameParts::of(a, Endings::Road),
                NameParts::of(b, Endings::Road),
            );
            core_distance(
                &a.core,
                &a.core_pinyin,
                &b.core,
                &b.core_pinyin,
                &mut Vec::new(),
            )
        };
        assert_eq!(d("凤台街", "凤台街"), 0.0);
        assert_eq!(d("凤苔街", "凤台街"), 0.25);
        assert_eq!(d("凤合街", "凤台街"), 1.0);
        assert_eq!(d("凤街", "凤台街"), 1.0);
        assert_eq!(pinyin_of(&['凤', '台', '街']), "fengtaijie");
        assert_eq!(
            byte_distance(b"fentaijie", b"fengtaijie", &mut Vec::new()),
            1.0
        );
    }
}
