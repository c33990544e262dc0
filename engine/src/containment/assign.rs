//! The doctrinal assignment of responders to crossings (圈成闭环,层不断档),
//! solved exactly on a matrix of arrival times. It knows nothing of roads:
//! the plan fills the matrix.
//!
//! Lexicographically, in this order:
//! 1. the innermost ring that can be closed completely in time is closed
//!    completely, and so is every ring outside it that can be, jointly;
//! 2. the remaining responders hold as many other crossings in time as
//!    they can;
//! 3. the latest arrival among the held crossings is as early as possible;
//! 4. among equal plans, staffed posts are preferred to station teams, and
//!    station teams to rapid-response units (which stay free for 110
//!    calls).
//!
//! Steps 1 and 2 rest on a property of bipartite matching: an augmenting
//! path never unmatches a crossing, so augmenting from the crossings that
//! must be held first and then from the others gives a maximum matching
//! that holds them, whenever any matching does (Mendelsohn–Dulmage).
//! Step 3 is a binary search over the arrival times for the least limit
//! that keeps steps 1 and 2. Step 4 exchanges responders along
//! alternating paths: a free team takes a crossing from a unit (perhaps
//! through a chain of others, each giving one crossing and taking
//! another), so the crossings held stay the same and no arrival passes the
//! limit. The responders used by maximum matchings are the bases of a
//! matroid (a transversal matroid), so a basis no single exchange improves
//! has the greatest preference of all. Crossings and responders number in
//! the tens to a hundred or two; every step is a few thousand edge visits.
//!
//! **A budget of new units** ([`assign_responders_within`]): at most so
//! many units that hold no crossing now may be given one, so that the
//! city keeps a reserve for 110 calls. In the flow network behind the
//! matching the new units drain through one node of that capacity; an
//! augmenting path that finds it full goes back through it to a new unit
//! whose crossing moves to a responder outside it. The crossings that can
//! be held this way still form a matroid (a gammoid), so steps 1 to 3
//! stand as they are; step 4 only ever frees new units (a unit is the
//! least preferred responder), so it keeps within the budget and reaches
//! the same optimum as without one.

/// A responder that cannot reach a crossing.
pub const UNREACHABLE_MS: u64 = u64::MAX;

/// Who a slot of responders is. Later is preferred: a staffed post over a
/// station team over a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResponderKind {
    /// A rapid-response unit, from its live position.
    Unit,
    /// A team from a station, after its turnout.
    StationTeam,
    /// A staffed fixed checkpoint (toll station, border post), after its
    /// activation delay, at its own crossing only.
    StaffedPost,
}

impl ResponderKind {
    /// The preference score of one crossing held by this kind: 0 for a
    /// unit, 1 for a station team, 2 for a staffed post.
    pub fn preference(self) -> i64 {
        match self {
            ResponderKind::Unit => 0,
            ResponderKind::StationTeam => 1,
            ResponderKind::StaffedPost => 2,
        }
    }
}

/// A crossing to hold.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossingNeed {
    /// The rings it closes: bit `i` for the `i`-th ring of the plan,
    /// innermost first. 0: it needs nobody.
    pub rings: u8,
    /// The latest arrival (ms) that holds it in time: the suspect's
    /// earliest arrival less the safety margin. `None` in a lockdown,
    /// where any arrival holds it.
    pub deadline_ms: Option<u64>,
}

/// Responders of one kind at one place: a unit (capacity 1), a station's
/// teams (capacity = teams), a staffed post (capacity 1, one crossing).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponderSlot {
    /// Who.
    pub kind: ResponderKind,
    /// How many crossings it can hold.
    pub capacity: u32,
    /// Its arrival (ms) at each crossing, [`UNREACHABLE_MS`] where it
    /// cannot go.
    pub arrival_ms: Vec<u64>,
    /// The crossing it holds now (a re-plan), tried first so that a plan
    /// as good keeps it there: it changes which of the equally good plans
    /// is found, never how good the plan is.
    pub holds: Option<usize>,
}

/// The assignment found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RingAssignment {
    /// The rings closed completely (bits as in [`CrossingNeed::rings`]).
    pub closed: u8,
    /// Each crossing's slot, if held in time.
    pub holder: Vec<Option<usize>>,
    /// How many crossings are held.
    pub held: usize,
    /// The latest arrival among the held crossings (0 if none).
    pub latest_ms: u64,
    /// The sum of the holders' [`ResponderKind::preference`].
    pub preference: i64,
    /// How many units that held no crossing before were given one (what
    /// the budget of [`assign_responders_within`] counts).
    pub new_units: usize,
}

/// The doctrinal assignment over the rings `rings` (bits as in
/// [`CrossingNeed::rings`], bit 0 innermost). `slots[k].arrival_ms` has
/// one entry per need.
///
/// ```
/// use kuaifan_engine::{CrossingNeed, ResponderKind, ResponderSlot, assign_responders};
/// // Two crossings of ring 1; a unit reaches both by 5, a team only the
/// // second, by 7. Both are held; the team takes the second.
/// let needs = vec![CrossingNeed { rings: 1, deadline_ms: Some(10) }; 2];
/// let slots = vec![
///     ResponderSlot { kind: ResponderKind::Unit, capacity: 1, arrival_ms: vec![5, 5], holds: None },
///     ResponderSlot { kind: ResponderKind::StationTeam, capacity: 1, arrival_ms: vec![u64::MAX, 7], holds: None },
/// ];
/// let a = assign_responders(&needs, &slots, 1);
/// assert_eq!((a.closed, a.holder.clone(), a.latest_ms), (1, vec![Some(0), Some(1)], 7));
/// ```
pub fn assign_responders(
    needs: &[CrossingNeed],
    slots: &[ResponderSlot],
    rings: u8,
) -> RingAssignment {
    assign_responders_within(needs, slots, rings, usize::MAX)
}

/// [`assign_responders`] giving a crossing to at most `new_units` of the
/// unit slots that hold none now (`kind` [`ResponderKind::Unit`], `holds`
/// `None`): the plan best by the doctrine among those that leave the
/// rest of the units free.
///
/// ```
/// use kuaifan_engine::{CrossingNeed, ResponderKind, ResponderSlot, assign_responders_within};
/// // Two crossings and two free units: with a budget of one unit, one
/// // crossing is held.
/// let needs = vec![CrossingNeed { rings: 1, deadline_ms: Some(10) }; 2];
/// let unit = ResponderSlot { kind: ResponderKind::Unit, capacity: 1, arrival_ms: vec![5, 5], holds: None };
/// let a = assign_responders_within(&needs, &[unit.clone(), unit], 1, 1);
/// assert_eq!((a.closed, a.held, a.new_units), (0, 1, 1));
/// ```
pub fn assign_responders_within(
    needs: &[CrossingNeed],
    slots: &[ResponderSlot],
    rings: u8,
    new_units: usize,
) -> RingAssignment {
    let edges = Edges::new(needs, slots, rings, new_units);
    let mut m = Matcher::new(needs.len(), slots);

    // 1. The rings closed, innermost first.
    let mut closed = 0u8;
    for bit in (0..8).map(|i| 1u8 << i).filter(|b| rings & b != 0) {
        let required = edges.crossings_of(needs, closed | bit);
        if m.run(&edges, &required, &[], u64::MAX).is_some() {
            closed |= bit;
        }
    }
    let required = edges.crossings_of(needs, closed);
    let others: Vec<usize> = edges
        .in_play
        .iter()
        .copied()
        .filter(|&s| needs[s].rings & closed == 0)
        .collect();

    // 2. As many crossings as can be held.
    let Some(best) = m.run(&edges, &required, &others, u64::MAX) else {
        return RingAssignment {
            closed,
            holder: vec![None; needs.len()],
            ..RingAssignment::default()
        };
    };
    if best == 0 {
        return RingAssignment {
            closed,
            holder: vec![None; needs.len()],
            ..RingAssignment::default()
        };
    }

    // 3. The least limit that keeps them: no plan beats the latest of the
    // required crossings' earliest arrivals.
    let floor = required
        .iter()
        .map(|&s| edges.of_crossing[s].first().map_or(0, |e| e.1))
        .max()
        .unwrap_or(0);
    let mut times: Vec<u64> = edges
        .of_crossing
        .iter()
        .flatten()
        .map(|e| e.1)
        .filter(|&t| t >= floor)
        .collect();
    times.sort_unstable();
    times.dedup();
    let keeps =
        |m: &mut Matcher, limit: u64| m.run(&edges, &required, &others, limit) == Some(best);
    let (mut lo, mut hi) = (0usize, times.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if keeps(&mut m, times[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let limit = times[lo];
    let kept = keeps(&mut m, limit);
    debug_assert!(kept, "the largest time keeps every crossing");

    // 4. Preferred responders, by exchanges under the limit.
    m.prefer(&edges, slots, limit);

    let mut out = RingAssignment {
        closed,
        holder: m.holder.iter().map(|h| h.map(|k| k as usize)).collect(),
        ..RingAssignment::default()
    };
    for (s, h) in out.holder.iter().enumerate() {
        if let Some(k) = *h {
            out.held += 1;
            out.new_units += usize::from(edges.pooled[k]);
            out.latest_ms = out.latest_ms.max(slots[k].arrival_ms[s]);
            out.preference += slots[k].kind.preference();
        }
    }
    out
}

/// The usable pairs: reachable, in time, of a crossing in play, by
/// crossing and by slot, each sorted by arrival.
struct Edges {
    in_play: Vec<usize>,
    of_crossing: Vec<Vec<(u32, u64)>>,
    of_slot: Vec<Vec<(u32, u64)>>,
    capacity: Vec<u32>,
    preference: Vec<i64>,
    /// Each crossing's present holder and its arrival, if usable.
    kept: Vec<Option<(u32, u64)>>,
    /// The slots the budget counts: units holding no crossing now.
    pooled: Vec<bool>,
    /// How many crossings the pooled slots may hold together.
    budget: usize,
}

impl Edges {
    fn new(needs: &[CrossingNeed], slots: &[ResponderSlot], rings: u8, budget: usize) -> Edges {
        let in_play: Vec<usize> = (0..needs.len())
            .filter(|&s| needs[s].rings & rings != 0)
            .collect();
        let mut of_crossing = vec![Vec::new(); needs.len()];
        let mut of_slot = vec![Vec::new(); slots.len()];
        for &s in &in_play {
            for (k, slot) in slots.iter().enumerate() {
                let Some(&t) = slot.arrival_ms.get(s) else {
                    continue;
                };
                let in_time = needs[s].deadline_ms.is_none_or(|d| t <= d);
                if slot.capacity > 0 && t != UNREACHABLE_MS && in_time {
                    of_crossing[s].push((k as u32, t));
                    of_slot[k].push((s as u32, t));
                }
            }
        }
        for list in of_crossing.iter_mut().chain(of_slot.iter_mut()) {
            list.sort_unstable_by_key(|&(other, t)| (t, other));
        }
        let mut kept = vec![None; needs.len()];
        for (k, slot) in slots.iter().enumerate() {
            if let Some(s) = slot.holds
                && let Some(&(_, t)) = of_crossing
                    .get(s)
                    .and_then(|l| l.iter().find(|e| e.0 as usize == k))
            {
                kept[s] = Some((k as u32, t));
            }
        }
        Edges {
            kept,
            in_play,
            of_crossing,
            of_slot,
            capacity: slots.iter().map(|s| s.capacity).collect(),
            preference: slots.iter().map(|s| s.kind.preference()).collect(),
            pooled: slots
                .iter()
                .map(|s| s.kind == ResponderKind::Unit && s.holds.is_none())
                .collect(),
            budget,
        }
    }

    /// The crossings in play that close one of `rings`.
    fn crossings_of(&self, needs: &[CrossingNeed], rings: u8) -> Vec<usize> {
        self.in_play
            .iter()
            .copied()
            .filter(|&s| needs[s].rings & rings != 0)
            .collect()
    }
}

/// Kuhn's augmenting paths with slot capacities and the budget's node,
/// its buffers reused.
struct Matcher {
    holder: Vec<Option<u32>>,
    held: Vec<Vec<u32>>,
    seen: Vec<u32>,
    round: u32,
    /// Crossings the pooled slots hold now.
    pooled_held: usize,
    /// The round the budget's node was last visited in.
    pool_seen: u32,
}

impl Matcher {
    fn new(crossings: usize, slots: &[ResponderSlot]) -> Matcher {
        Matcher {
            holder: vec![None; crossings],
            held: vec![Vec::new(); slots.len()],
            seen: vec![0; slots.len()],
            round: 0,
            pooled_held: 0,
            pool_seen: 0,
        }
    }

    /// Slot `k` takes crossing `s`.
    fn hold(&mut self, edges: &Edges, k: usize, s: usize) {
        self.held[k].push(s as u32);
        self.holder[s] = Some(k as u32);
        self.pooled_held += usize::from(edges.pooled[k]);
    }

    /// Slot `k` gives crossing `s` up (its holder is set by the caller).
    fn release(&mut self, edges: &Edges, k: usize, s: usize) {
        if let Some(i) = self.held[k].iter().position(|&x| x as usize == s) {
            self.held[k].swap_remove(i);
            self.pooled_held -= usize::from(edges.pooled[k]);
        }
    }

    /// Whether slot `k` has room for one more crossing, the budget
    /// counted.
    fn has_room(&self, edges: &Edges, k: usize) -> bool {
        (self.held[k].len() as u32) < edges.capacity[k]
            && (!edges.pooled[k] || self.pooled_held < edges.budget)
    }

    fn next_round(&mut self) -> u32 {
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.seen.fill(0);
            self.round = 1;
        }
        self.round
    }

    /// A maximum matching over `required` then `others` with arrivals at
    /// or under `limit`: the number of crossings held, or `None` if a
    /// required one cannot be.
    fn run(
        &mut self,
        edges: &Edges,
        required: &[usize],
        others: &[usize],
        limit: u64,
    ) -> Option<usize> {
        self.holder.fill(None);
        for h in &mut self.held {
            h.clear();
        }
        self.pooled_held = 0;
        let mut count = 0;
        for (g, group) in [required, others].into_iter().enumerate() {
            // Present holders first, where they still fit; augmenting
            // keeps every crossing held, so this only picks among
            // maximum matchings.
            for &s in group {
                if let Some((k, t)) = edges.kept[s]
                    && t <= limit
                    && self.has_room(edges, k as usize)
                {
                    self.hold(edges, k as usize, s);
                    count += 1;
                }
            }
            for &s in group {
                if self.holder[s].is_some() {
                    continue;
                }
                let round = self.next_round();
                if self.augment(edges, s, limit, round) {
                    count += 1;
                } else if g == 0 {
                    return None;
                }
            }
        }
        Some(count)
    }

    fn augment(&mut self, edges: &Edges, s: usize, limit: u64, round: u32) -> bool {
        let usable = || {
            edges.of_crossing[s]
                .iter()
                .take_while(move |e| e.1 <= limit)
        };
        // A free responder first: no one is moved (faster, and a present
        // holder is not displaced for nothing).
        for &(k, _) in usable() {
            let k = k as usize;
            if self.has_room(edges, k) {
                self.hold(edges, k, s);
                return true;
            }
        }
        // Through a responder that holds crossings: one of them moves on.
        for &(k, _) in usable() {
            let k = k as usize;
            if self.seen[k] == round {
                continue;
            }
            self.seen[k] = round;
            for i in 0..self.held[k].len() {
                let other = self.held[k][i] as usize;
                if self.augment(edges, other, limit, round) {
                    self.held[k][i] = s as u32;
                    self.holder[s] = Some(k as u32);
                    return true;
                }
            }
        }
        // Through the budget: a new unit with room takes `s` once another
        // new unit's crossing moves to a responder outside the budget.
        if self.pool_seen == round {
            return false;
        }
        let Some(k) = usable()
            .map(|&(k, _)| k as usize)
            .find(|&k| edges.pooled[k] && (self.held[k].len() as u32) < edges.capacity[k])
        else {
            return false;
        };
        self.pool_seen = round;
        for j in 0..self.held.len() {
            if !edges.pooled[j] || self.seen[j] == round {
                continue;
            }
            self.seen[j] = round;
            for i in 0..self.held[j].len() {
                let other = self.held[j][i] as usize;
                if self.augment(edges, other, limit, round) {
                    self.release(edges, j, other);
                    self.hold(edges, k, s);
                    return true;
                }
            }
        }
        false
    }

    /// Exchanges until no free post or team can take a crossing from a
    /// less preferred responder.
    fn prefer(&mut self, edges: &Edges, slots: &[ResponderSlot], limit: u64) {
        loop {
            let mut improved = false;
            for want in [ResponderKind::StaffedPost, ResponderKind::StationTeam] {
                for k in (0..slots.len()).filter(|&k| slots[k].kind == want) {
                    while (self.held[k].len() as u32) < edges.capacity[k] {
                        let round = self.next_round();
                        self.seen[k] = round;
                        if !self.take(edges, k, want.preference(), limit, round) {
                            break;
                        }
                        improved = true;
                    }
                }
            }
            if !improved {
                return;
            }
        }
    }

    /// Slot `k`, with a free place, takes a crossing from another holder:
    /// from one less preferred than `want` (done), or from one that then
    /// takes another in turn.
    fn take(&mut self, edges: &Edges, k: usize, want: i64, limit: u64, round: u32) -> bool {
        for &(s, t) in &edges.of_slot[k] {
            if t > limit {
                break;
            }
            let s = s as usize;
            let Some(j) = self.holder[s].map(|j| j as usize) else {
                continue;
            };
            if j == k || self.seen[j] == round {
                continue;
            }
            self.seen[j] = round;
            if edges.preference[j] < want || self.take(edges, j, want, limit, round) {
                self.release(edges, j, s);
                self.hold(edges, k, s);
                return true;
            }
        }
        false
    }
}
