//! Cached search spaces: what an upward search from a fixed location (a
//! unit, a checkpoint) reaches, kept so later queries only search from the
//! other end.

use std::marker::PhantomData;

use crate::road::snap::Snapped;
use crate::route::Cost;

/// Marks spaces searched forwards from a source (a unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {}

/// Marks spaces searched backwards from a target (a checkpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {}

/// The upward search space of one location: every node a search from it
/// climbs to without being stalled, with its cost. Computing one costs
/// about one search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSpace<D> {
    at: Snapped,
    /// Sorted by node.
    entries: Vec<(u32, Cost)>,
    direction: PhantomData<D>,
}

/// The space of a source, from [`crate::RouteQuery::source_space`].
pub type SourceSpace = SearchSpace<Source>;
/// The space of a target, from [`crate::RouteQuery::target_space`].
pub type TargetSpace = SearchSpace<Target>;

impl<D> SearchSpace<D> {
    pub(crate) fn new(at: Snapped, mut entries: Vec<(u32, Cost)>) -> Self {
        entries.sort_unstable_by_key(|&(n, _)| n);
        Self {
            at,
            entries,
            direction: PhantomData,
        }
    }

    /// The location it was computed for.
    pub fn location(&self) -> &Snapped {
        &self.at
    }

    /// The space's nodes and costs, sorted by node.
    pub(crate) fn entries(&self) -> &[(u32, Cost)] {
        &self.entries
    }

    /// Number of nodes in the space.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the space is empty (never, for a location on the network).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The cached spaces of a set of locations (a city's units, or its
/// checkpoints), kept as buckets: for each node, which locations reach it
/// and at what cost. Each location has a slot; replacing one costs time
/// linear in the total size of the buckets (microseconds for a city).
#[derive(Clone, Debug)]
pub struct SpaceSet<D> {
    slots: Vec<Option<SearchSpace<D>>>,
    /// Sorted by node.
    buckets: Vec<Bucket>,
}

/// The spaces of a city's units, for [`crate::RouteQuery::many_to_one`].
pub type SourceSet = SpaceSet<Source>;
/// The spaces of fixed targets, for [`crate::RouteQuery::one_to_targets`].
pub type TargetSet = SpaceSet<Target>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) node: u32,
    pub(crate) slot: u32,
    pub(crate) cost: Cost,
}

impl<D> Default for SpaceSet<D> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            buckets: Vec::new(),
        }
    }
}

impl<D> SpaceSet<D> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of slots (the highest slot ever set, plus one).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The space in a slot.
    pub fn get(&self, slot: usize) -> Option<&SearchSpace<D>> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// A set of many spaces at once: one sort of all their buckets, where
    /// [`SpaceSet::set`] one by one would merge each space into everything
    /// before it (quadratic for the thousands of cell centres of a
    /// coverage map). A slot given twice keeps its last space.
    pub fn from_spaces(spaces: impl IntoIterator<Item = (usize, SearchSpace<D>)>) -> Self {
        let mut slots: Vec<Option<SearchSpace<D>>> = Vec::new();
        for (slot, space) in spaces {
            if slots.len() <= slot {
                slots.resize_with(slot + 1, || None);
            }
            slots[slot] = Some(space);
        }
        let mut buckets: Vec<Bucket> = slots
            .iter()
            .enumerate()
            .filter_map(|(slot, space)| Some((slot, space.as_ref()?)))
            .flat_map(|(slot, space)| {
                space.entries.iter().map(move |&(node, cost)| Bucket {
                    node,
                    slot: slot as u32,
                    cost,
                })
            })
            .collect();
        // Within a node the order does not matter to a query (it takes the
        // minimum); by slot keeps the result the same on every run.
        buckets.sort_unstable_by_key(|b| (b.node, b.slot));
        Self { slots, buckets }
    }

    /// Puts a space in a slot, replacing what was there.
    pub fn set(&mut self, slot: usize, space: SearchSpace<D>) {
        self.remove(slot);
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        let fresh = space.entries.iter().map(|&(node, cost)| Bucket {
            node,
            slot: slot as u32,
            cost,
        });
        // Both are sorted by node: merge them.
        let mut old = std::mem::take(&mut self.buckets).into_iter().peekable();
        let mut merged = Vec::with_capacity(old.len() + space.entries.len());
        for b in fresh {
            while let Some(o) = old.next_if(|o| o.node <= b.node) {
                merged.push(o);
            }
            merged.push(b);
        }
        merged.extend(old);
        self.buckets = merged;
        self.slots[slot] = Some(space);
    }

    /// Empties a slot: its location is no longer asked about.
    pub fn remove(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot)
            && s.take().is_some()
        {
            self.buckets.retain(|b| b.slot as usize != slot);
        }
    }

    pub(crate) fn slots(&self) -> impl Iterator<Item = Option<&SearchSpace<D>>> {
        self.slots.iter().map(Option::as_ref)
    }

    pub(crate) fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }
}
