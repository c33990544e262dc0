//! A set of coverage cells as a bit set: the cells a unit or a post reaches
//! within a target. Move-up advice compares thousands of such sets per
//! change, and a word-wise AND of 37 words (Jincheng's 2,312 cells) is
//! far cheaper than merging lists.

use crate::route::Cost;

/// Cells by position in the coverage map, one bit each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CellSet {
    words: Box<[u64]>,
}

impl CellSet {
    /// The cells of `row` (an ETA per cell) reached within `limit_ms`.
    pub(crate) fn within(row: &[Cost], cells: usize, limit_ms: u64) -> CellSet {
        let row = row.get(..cells).unwrap_or(row);
        let words = row
            .chunks(64)
            .map(|chunk| {
                // Without branches: this runs over every cell of every free
                // unit at each change. An unreachable cell's time is
                // u32::MAX, beyond any limit.
                chunk.iter().enumerate().fold(0u64, |word, (bit, eta)| {
                    word | (u64::from(u64::from(eta.time_ms()) <= limit_ms) << bit)
                })
            })
            .chain(std::iter::repeat(0))
            .take(cells.div_ceil(64))
            .collect();
        CellSet { words }
    }

    /// The words, 64 cells each, cell `i` at bit `i % 64` of word `i / 64`.
    #[inline]
    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Whether cell `cell` is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, cell: usize) -> bool {
        self.words
            .get(cell / 64)
            .is_some_and(|w| w & (1 << (cell % 64)) != 0)
    }

    /// Calls `f` with every cell of the set.
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize)) {
        for (i, &w) in self.words.iter().enumerate() {
            each_bit(w, i, &mut f);
        }
    }
}

/// Calls `f` with the cell of every bit of `word`, the `index`-th word.
#[inline]
pub(crate) fn each_bit(mut word: u64, index: usize, f: &mut impl FnMut(usize)) {
    while word != 0 {
        let bit = word.trailing_zeros() as usize;
        f(index * 64 + bit);
        word &= word - 1;
    }
}

/// The sum of `values` over the cells in both sets.
#[inline]
pub(crate) fn sum_over_both(a: &CellSet, b: &CellSet, values: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (i, (x, y)) in a.words.iter().zip(b.words.iter()).enumerate() {
        each_bit(x & y, i, &mut |c| sum += values[c]);
    }
    sum
}

/// The sum of `values` over a set.
#[inline]
pub(crate) fn sum_over(a: &CellSet, values: &[f64]) -> f64 {
    let mut sum = 0.0;
    a.for_each(|c| sum += values[c]);
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_the_cells_within_the_limit_and_sums_agree_with_a_scan() {
        let row: Vec<Cost> = (0..150u32)
            .map(|i| {
                if i % 7 == 0 {
                    Cost::UNREACHABLE
                } else {
                    Cost::new(i * 1000 % 97_000, 0)
                }
            })
            .collect();
        let a = CellSet::within(&row, row.len(), 50_000);
        let b = CellSet::within(&row, row.len(), 20_000);
        let values: Vec<f64> = (0..150).map(|i| f64::from(i) * 0.5).collect();
        let mut both = 0.0;
        for (c, eta) in row.iter().enumerate() {
            let within = |ms: u32| eta.is_reachable() && eta.time_ms() <= ms;
            assert_eq!(a.contains(c), within(50_000), "cell {c}");
            if within(50_000) && within(20_000) {
                both += values[c];
            }
        }
        assert_eq!(sum_over_both(&a, &b, &values), both);
        assert_eq!(sum_over(&b, &values), both);
    }
}
