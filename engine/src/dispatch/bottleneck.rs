//! The exact bottleneck assignment: give every exit its own unit so that
//! the latest arrival is as early as possible.
//!
//! Binary search over the distinct costs for the smallest threshold at
//! which every exit can be matched to a distinct unit using only pairs at
//! or under it (Kuhn's augmenting paths; exits and units number in the
//! tens, so this is microseconds).

/// A cost that means "cannot get there".
pub const NO_ROUTE: u64 = u64::MAX;

/// Matches each row (exit) to a distinct column (unit), minimising the
/// largest cost used. `costs[row][column]`; [`NO_ROUTE`] marks pairs that
/// cannot be used. Returns the bottleneck and each row's column, or `None`
/// if some row cannot be matched at all (more rows than usable columns).
pub fn bottleneck_assignment(costs: &[Vec<u64>]) -> Option<(u64, Vec<usize>)> {
    let rows = costs.len();
    if rows == 0 {
        return Some((0, Vec::new()));
    }
    let columns = costs.iter().map(Vec::len).max().unwrap_or(0);
    // No assignment beats the worst row's best pair, and in practice the
    // answer is at or just above it: search from there.
    let floor = costs
        .iter()
        .map(|row| {
            row.iter()
                .copied()
                .filter(|&c| c != NO_ROUTE)
                .min()
                .unwrap_or(NO_ROUTE)
        })
        .max()
        .unwrap_or(0);
    if floor == NO_ROUTE {
        return None;
    }
    if let Some(m) = full_matching(costs, columns, floor) {
        return Some((floor, m));
    }
    let mut thresholds: Vec<u64> = costs
        .iter()
        .flatten()
        .copied()
        .filter(|&c| c != NO_ROUTE && c > floor)
        .collect();
    thresholds.sort_unstable();
    thresholds.dedup();
    let mut best = None;
    let (mut lo, mut hi) = (0usize, thresholds.len());
    // Invariant: thresholds[hi..] all admit a full matching (if any does).
    while lo < hi {
        let mid = (lo + hi) / 2;
        match full_matching(costs, columns, thresholds[mid]) {
            Some(m) => {
                best = Some((thresholds[mid], m));
                hi = mid;
            }
            None => lo = mid + 1,
        }
    }
    best
}

/// A matching of every row using pairs with cost ≤ `limit`, if one exists.
fn full_matching(costs: &[Vec<u64>], columns: usize, limit: u64) -> Option<Vec<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; columns];
    for row in 0..costs.len() {
        let mut seen = vec![false; columns];
        if !augment(costs, limit, row, &mut seen, &mut owner) {
            return None;
        }
    }
    let mut assignment = vec![0; costs.len()];
    for (column, row) in owner.iter().enumerate() {
        if let Some(r) = row {
            assignment[*r] = column;
        }
    }
    Some(assignment)
}

fn augment(
    costs: &[Vec<u64>],
    limit: u64,
    row: usize,
    seen: &mut [bool],
    owner: &mut [Option<usize>],
) -> bool {
    for (column, &c) in costs[row].iter().enumerate() {
        if c > limit || c == NO_ROUTE || seen[column] {
            continue;
        }
        seen[column] = true;
        let free = match owner[column] {
            None => true,
            Some(other) => augment(costs, limit, other, seen, owner),
        };
        if free {
            owner[column] = Some(row);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The smallest bottleneck over every injective assignment, by brute
    /// force.
    fn brute(costs: &[Vec<u64>], row: usize, used: &mut Vec<bool>) -> Option<u64> {
        if row == costs.len() {
            return Some(0);
        }
        let mut best: Option<u64> = None;
        for column in 0..used.len() {
            let c = costs[row][column];
            if used[column] || c == NO_ROUTE {
                continue;
            }
            used[column] = true;
            if let Some(rest) = brute(costs, row + 1, used) {
                let b = rest.max(c);
                best = Some(best.map_or(b, |x: u64| x.min(b)));
            }
            used[column] = false;
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        #[test]
        fn equals_brute_force(rows in 1usize..5, extra in 0usize..3, seed in proptest::collection::vec(0u64..40, 35)) {
            let columns = rows + extra;
            let costs: Vec<Vec<u64>> = (0..rows)
                .map(|r| (0..columns).map(|c| {
                    let v = seed[(r * 7 + c) % seed.len()];
                    if v >= 36 { NO_ROUTE } else { v }
                }).collect())
                .collect();
            let expected = brute(&costs, 0, &mut vec![false; columns]);
            let got = bottleneck_assignment(&costs);
            prop_assert_eq!(got.as_ref().map(|g| g.0), expected);
            if let Some((limit, assignment)) = got {
                let mut used = vec![false; columns];
                for (r, &c) in assignment.iter().enumerate() {
                    prop_assert!(!used[c], "column used twice");
                    used[c] = true;
                    prop_assert!(costs[r][c] <= limit);
                }
            }
        }
    }

    #[test]
    fn more_rows_than_columns_cannot_be_matched() {
        assert_eq!(bottleneck_assignment(&[vec![1], vec![2]]), None);
    }
}
