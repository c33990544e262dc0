//! Patrol zones: the urban core split into 34 contiguous areas whose
//! boundaries run mid-block, so arterials cross them cleanly.

use crate::plane::P;
use crate::urban::Town;

/// A zone: its cells and outline (anticlockwise, in metres).
#[derive(Debug, Clone)]
pub struct ZonePlan {
    pub cells: Vec<(usize, usize)>,
    pub outline: Vec<P>,
    pub centroid: P,
    /// Expected incidents per day.
    pub rate: f64,
}

/// The core's cell lattice: one cell around each arterial crossing inside
/// the core, bounded by the mid-lines between arterials.
#[derive(Debug, Clone)]
pub struct Lattice {
    /// Corner coordinates: cell i spans xs[i]..xs[i + 1].
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub inside: Vec<Vec<bool>>,
}

impl Lattice {
    pub fn of(town: &Town) -> Self {
        let mids = |v: &[f64]| -> Vec<f64> {
            let n = v.len();
            let mut out = vec![v[0] - (v[1] - v[0]) / 2.0];
            out.extend(v.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            out.push(v[n - 1] + (v[n - 1] - v[n - 2]) / 2.0);
            out
        };
        Self {
            xs: mids(&town.xs),
            ys: mids(&town.ys),
            inside: town.included.clone(),
        }
    }

    pub fn centre(&self, (i, j): (usize, usize)) -> P {
        P::new(
            (self.xs[i] + self.xs[i + 1]) / 2.0,
            (self.ys[j] + self.ys[j + 1]) / 2.0,
        )
    }

    fn area(&self, (i, j): (usize, usize)) -> f64 {
        (self.xs[i + 1] - self.xs[i]) * (self.ys[j + 1] - self.ys[j])
    }

    pub fn cells(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, col) in self.inside.iter().enumerate() {
            for (j, &inside) in col.iter().enumerate() {
                if inside {
                    out.push((i, j));
                }
            }
        }
        out
    }

    /// The outline of a set of cells, which must form one piece without
    /// holes; `None` otherwise.
    pub fn outline(&self, cells: &[(usize, usize)]) -> Option<Vec<P>> {
        let member =
            |i: isize, j: isize| i >= 0 && j >= 0 && cells.contains(&(i as usize, j as usize));
        // Directed edges between lattice corners with the cells on the left.
        let mut edges: Vec<((usize, usize), (usize, usize))> = Vec::new();
        for &(i, j) in cells {
            let (a, b) = (i as isize, j as isize);
            if !member(a, b - 1) {
                edges.push(((i, j), (i + 1, j)));
            }
            if !member(a + 1, b) {
                edges.push(((i + 1, j), (i + 1, j + 1)));
            }
            if !member(a, b + 1) {
                edges.push(((i + 1, j + 1), (i, j + 1)));
            }
            if !member(a - 1, b) {
                edges.push(((i, j + 1), (i, j)));
            }
        }
        edges.sort_unstable();
        let total = edges.len();
        let start = edges.first()?.0;
        let mut ring = vec![start];
        let mut at = start;
        let mut used = 0;
        loop {
            let next: Vec<usize> = (0..edges.len()).filter(|&k| edges[k].0 == at).collect();
            if next.len() != 1 {
                return None; // two pieces touching at a corner
            }
            at = edges[next[0]].1;
            edges.swap_remove(next[0]);
            used += 1;
            if at == start {
                break;
            }
            ring.push(at);
        }
        if used != total {
            return None; // a hole or a second piece
        }
        // Drop corners where the outline runs straight on.
        let n = ring.len();
        let corners: Vec<(usize, usize)> = (0..n)
            .filter(|&k| {
                let (p, c, q) = (ring[(k + n - 1) % n], ring[k], ring[(k + 1) % n]);
                !((p.0 == c.0 && c.0 == q.0) || (p.1 == c.1 && c.1 == q.1))
            })
            .map(|k| ring[k])
            .collect();
        Some(
            corners
                .iter()
                .map(|&(i, j)| P::new(self.xs[i], self.ys[j]))
                .collect(),
        )
    }
}

/// How many incidents a place draws: the commercial centre most, a second
/// centre in northern Zezhou, and a floor everywhere.
pub fn incident_density(p: P, centre: P) -> f64 {
    let d1 = p.distance(centre);
    let d2 = p.distance(centre + P::new(1500.0, -4500.0));
    let d3 = p.distance(centre + P::new(-3500.0, 2500.0));
    1.0 + 5.0 * (-(d1 / 2500.0).powi(2)).exp()
        + 2.5 * (-(d2 / 1800.0).powi(2)).exp()
        + 1.5 * (-(d3 / 1500.0).powi(2)).exp()
}

/// Splits the lattice's cells into `count` zones by weighted k-means (more
/// weight, smaller zones), mends any piece cut off from its zone, and
/// scales rates to `incidents_per_day`.
pub fn partition(
    lattice: &Lattice,
    count: usize,
    centre: P,
    incidents_per_day: f64,
) -> Result<Vec<ZonePlan>, String> {
    let cells = lattice.cells();
    let weight: Vec<f64> = cells
        .iter()
        .map(|&c| incident_density(lattice.centre(c), centre) * lattice.area(c))
        .collect();
    // Seeds: the heaviest cell, then farthest-point sampling.
    let mut seeds: Vec<P> = Vec::new();
    let first = (0..cells.len())
        .max_by(|&a, &b| weight[a].total_cmp(&weight[b]))
        .ok_or("no cells")?;
    seeds.push(lattice.centre(cells[first]));
    while seeds.len() < count {
        let far = (0..cells.len())
            .max_by(|&a, &b| {
                let da = seeds
                    .iter()
                    .map(|s| s.distance(lattice.centre(cells[a])))
                    .fold(f64::MAX, f64::min)
                    * weight[a].sqrt();
                let db = seeds
                    .iter()
                    .map(|s| s.distance(lattice.centre(cells[b])))
                    .fold(f64::MAX, f64::min)
                    * weight[b].sqrt();
                da.total_cmp(&db)
            })
            .ok_or("no cells")?;
        seeds.push(lattice.centre(cells[far]));
    }
    let nearest = |p: P, seeds: &[P]| {
        (0..seeds.len())
            .min_by(|&a, &b| seeds[a].distance(p).total_cmp(&seeds[b].distance(p)))
            .unwrap_or(0)
    };
    let mut owner: Vec<usize> = vec![0; cells.len()];
    for _ in 0..30 {
        for (k, &c) in cells.iter().enumerate() {
            owner[k] = nearest(lattice.centre(c), &seeds);
        }
        for (z, seed) in seeds.iter_mut().enumerate() {
            let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
            for (k, &c) in cells.iter().enumerate() {
                if owner[k] == z {
                    let p = lattice.centre(c);
                    sx += p.x * weight[k];
                    sy += p.y * weight[k];
                    sw += weight[k];
                }
            }
            if sw > 0.0 {
                *seed = P::new(sx / sw, sy / sw);
            }
        }
    }
    mend(&cells, &mut owner, count);

    let total: f64 = weight.iter().sum();
    let mut zones = Vec::new();
    for z in 0..count {
        let mine: Vec<(usize, usize)> = (0..cells.len())
            .filter(|&k| owner[k] == z)
            .map(|k| cells[k])
            .collect();
        let w: f64 = (0..cells.len())
            .filter(|&k| owner[k] == z)
            .map(|k| weight[k])
            .sum();
        let outline = lattice
            .outline(&mine)
            .ok_or_else(|| format!("zone {z} is not one simple piece"))?;
        let centroid = mine
            .iter()
            .fold(P::new(0.0, 0.0), |a, &c| a + lattice.centre(c))
            * (1.0 / mine.len().max(1) as f64);
        zones.push(ZonePlan {
            cells: mine,
            outline,
            centroid,
            rate: (w / total * incidents_per_day * 10.0).round() / 10.0,
        });
    }
    // Number zones north to south in 2 km bands, west to east within a band.
    zones.sort_by(|a, b| {
        let band = |p: P| (-p.y / 2000.0).floor() as i64;
        band(a.centroid)
            .cmp(&band(b.centroid))
            .then(a.centroid.x.total_cmp(&b.centroid.x))
    });
    Ok(zones)
}

/// Gives every cell not 4-connected to the main piece of its zone to a
/// neighbouring zone.
fn mend(cells: &[(usize, usize)], owner: &mut [usize], count: usize) {
    let index = |c: (usize, usize)| cells.iter().position(|&d| d == c);
    let neighbours = |(i, j): (usize, usize)| {
        let mut v = vec![(i + 1, j), (i, j + 1)];
        if i > 0 {
            v.push((i - 1, j));
        }
        if j > 0 {
            v.push((i, j - 1));
        }
        v
    };
    for _ in 0..4 {
        for z in 0..count {
            let mine: Vec<usize> = (0..cells.len()).filter(|&k| owner[k] == z).collect();
            if mine.is_empty() {
                continue;
            }
            // Components by flood fill; keep the largest.
            let mut label = vec![usize::MAX; cells.len()];
            let mut sizes = Vec::new();
            for &s in &mine {
                if label[s] != usize::MAX {
                    continue;
                }
                let id = sizes.len();
                let mut stack = vec![s];
                label[s] = id;
                let mut size = 0;
                while let Some(k) = stack.pop() {
                    size += 1;
                    for n in neighbours(cells[k]).into_iter().filter_map(index) {
                        if owner[n] == z && label[n] == usize::MAX {
                            label[n] = id;
                            stack.push(n);
                        }
                    }
                }
                sizes.push(size);
            }
            let keep = (0..sizes.len()).max_by_key(|&i| sizes[i]).unwrap_or(0);
            for &k in &mine {
                if label[k] != keep
                    && let Some(other) = neighbours(cells[k])
                        .into_iter()
                        .filter_map(index)
                        .map(|n| owner[n])
                        .find(|&o| o != z)
                {
                    owner[k] = other;
                }
            }
        }
    }
}
