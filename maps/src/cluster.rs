//! Clustering of dense point layers (stations, projects, villages) for a zoom level.
//!
//! Algorithm: grid clustering. Points are projected to screen pixels at the current zoom and
//! bucketed into square cells of `cell_px` pixels anchored at a fixed world origin (not at the
//! viewport), so a point's cluster depends only on its own position and the zoom: clusters do not
//! jump when the map pans or other points update. A cluster's position is the mean of its members
//! (drawn there, with its count); a cell with one point is that point.
//!
//! Caveat: two points a pixel apart on either side of a cell edge stay separate; that is the price
//! of stability, and at marker sizes it reads fine. Cost: O(n) with a hash map.
//!
//! ```
//! use yiping_maps::cluster::grid_clusters;
//! let pts = [(10.0, 10.0), (12.0, 11.0), (300.0, 40.0)];
//! let c = grid_clusters(&pts, 64.0);
//! assert_eq!(c.iter().map(|c| c.members.len()).collect::<Vec<_>>(), vec![2, 1]);
//! ```

use std::collections::BTreeMap;

/// Points that are drawn as one marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Mean x of the members, in the same units as the input.
    pub x: f64,
    /// Mean y of the members.
    pub y: f64,
    /// Indices of the members in the input, ascending.
    pub members: Vec<usize>,
}

/// Group `points` (screen coordinates at one zoom) into clusters of grid cells `cell_px` wide.
/// The result is ordered by cell (row, then column), so it is the same for the same input in any
/// order. Non-finite points are left out.
pub fn grid_clusters(points: &[(f64, f64)], cell_px: f64) -> Vec<Cluster> {
    let cell = cell_px.max(f64::MIN_POSITIVE);
    let mut cells: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, &(x, y)) in points.iter().enumerate() {
        if x.is_finite() && y.is_finite() {
            cells.entry(((y / cell).floor() as i64, (x / cell).floor() as i64)).or_default().push(i);
        }
    }
    cells
        .into_values()
        .map(|members| {
            let n = members.len() as f64;
            let x = members.iter().map(|&i| points[i].0).sum::<f64>() / n;
            let y = members.iter().map(|&i| points[i].1).sum::<f64>() / n;
            Cluster { x, y, members }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random_points(n: usize) -> Vec<(f64, f64)> {
        // A fixed low-discrepancy sequence: reproducible without a random number generator.
        (0..n)
            .map(|i| ((i as f64 * 0.618_034).fract() * 1920.0, (i as f64 * 0.414_214).fract() * 1080.0))
            .collect()
    }

    #[test]
    fn every_point_is_in_exactly_one_cluster_within_its_cell() {
        let pts = pseudo_random_points(1000);
        let clusters = grid_clusters(&pts, 80.0);
        let mut seen: Vec<usize> = clusters.iter().flat_map(|c| c.members.iter().copied()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        for c in &clusters {
            let (cx, cy) = ((pts[c.members[0]].0 / 80.0).floor(), (pts[c.members[0]].1 / 80.0).floor());
            assert!(
                c.members.iter().all(|&i| (pts[i].0 / 80.0).floor() == cx && (pts[i].1 / 80.0).floor() == cy)
            );
            assert!(
                c.x >= cx * 80.0 && c.x < (cx + 1.0) * 80.0 && c.y >= cy * 80.0 && c.y < (cy + 1.0) * 80.0
            );
        }
        // 1920×1080 in 80 px cells: at most 24 × 14 clusters.
        assert!(clusters.len() <= 24 * 14);
    }

    #[test]
    fn clusters_are_stable_under_reordering_and_updates_elsewhere() {
        let pts = pseudo_random_points(300);
        let a = grid_clusters(&pts, 64.0);
        // Same points in reverse order: same clusters, members renumbered.
        let rev: Vec<(f64, f64)> = pts.iter().rev().copied().collect();
        let b = grid_clusters(&rev, 64.0);
        let renumber = |c: &Cluster| {
            let mut m: Vec<usize> = c.members.iter().map(|&i| 299 - i).collect();
            m.sort_unstable();
            m
        };
        assert_eq!(
            a.iter().map(|c| c.members.clone()).collect::<Vec<_>>(),
            b.iter().map(renumber).collect::<Vec<_>>()
        );
        // Moving one point changes only the clusters it leaves and joins.
        let mut moved = pts.clone();
        moved[0] = (1900.0, 1070.0);
        let c = grid_clusters(&moved, 64.0);
        let unchanged = a.iter().filter(|x| !x.members.contains(&0)).filter(|x| c.contains(x)).count();
        assert!(unchanged >= a.len() - 2, "{unchanged} of {}", a.len());
    }

    #[test]
    fn separate_points_stay_separate_and_nan_is_dropped() {
        let c = grid_clusters(&[(0.0, 0.0), (500.0, 500.0), (f64::NAN, 1.0)], 50.0);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].x, c[0].y, c[1].x, c[1].y), (0.0, 0.0, 500.0, 500.0));
    }
}
