//! Hit-testing many points fast: a grid over the regions whose cells no border touches answer
//! at once; only cells a border crosses ask the exact [`RegionIndex`].
//!
//! Algorithm: a uniform grid (about [`GridIndex::DEFAULT_CELLS`] cells, square in degrees) over
//! the regions' extent. Every border is walked in pieces no longer than a cell; each piece marks
//! the cells its bounding box, widened by [`GridIndex::SLACK`] degrees, overlaps, so a cell left
//! unmarked has no border point on it or next to it. Unmarked cells are joined into 4-connected
//! areas; a path inside one area meets no border, so every point of the area is inside the same
//! regions and the exact index's answer at one cell centre is the answer for all of them. A query
//! finds its cell with one division per axis: an unmarked cell answers from its area; a marked
//! cell, a point off the grid or not a number asks the exact index. The answers are therefore the
//! exact index's, bit for bit, including on borders and in holes.
//!
//! Cost: building walks every border once (about 5 ms for Hubei's 103 counties, 2 MiB of
//! cells); a query in an unmarked cell is two divisions and a load, against a few hundred
//! vertices for the exact test. Points on or near borders (a few per cent of a province's area
//! at the default size) cost what they cost before.
//!
//! Caveat: the grid is in degrees, so cells are narrower in kilometres towards the poles; it
//! only changes how many cells are marked, not the answers.
//!
//! ```
//! use yiping_maps::{data::Layer, grid::GridIndex, hit::RegionIndex, parse_regions};
//! let exact = RegionIndex::new(parse_regions(Layer::Prefectures.geojson()).unwrap());
//! let grid = GridIndex::new(exact, GridIndex::DEFAULT_CELLS);
//! assert_eq!(grid.at(114.30, 30.59).map(|r| r.adcode.as_str()), Some("420100")); // 武汉
//! assert!(grid.at(112.94, 28.23).is_none()); // 长沙, in Hunan
//! ```

use geo::{BoundingRect, Coord};

use crate::Region;
use crate::hit::RegionIndex;

/// A cell some border touches: ask the exact index.
const BORDER: u32 = u32::MAX;
/// A cell inside no region.
const OUTSIDE: u32 = u32::MAX - 1;
/// Not yet given an area (only while building).
const UNSEEN: u32 = u32::MAX - 2;

/// Regions with the exact index and a grid of cells that answer without it.
#[derive(Debug)]
pub struct GridIndex {
    exact: RegionIndex,
    origin: Coord<f64>,
    /// Cell width and height, degrees.
    cell: f64,
    cols: usize,
    rows: usize,
    /// Per cell, row by row from `origin`: the region's position in `regions()`, [`OUTSIDE`]
    /// or [`BORDER`].
    cells: Vec<u32>,
}

impl GridIndex {
    /// About 2 MiB of cells: about 1 km square over a province the size of Hubei.
    pub const DEFAULT_CELLS: usize = 1 << 19;
    /// How far (degrees) around a border cells are marked: far above the rounding of a cell's
    /// edges, far below a cell.
    pub const SLACK: f64 = 1e-9;

    /// Build the grid (about `cells` cells) over the regions of `exact`.
    pub fn new(exact: RegionIndex, cells: usize) -> GridIndex {
        let bounds = exact.regions().iter().filter_map(|r| r.shape.bounding_rect()).reduce(|a, b| {
            geo::Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        });
        let Some(bounds) = bounds.filter(|b| b.width() > 0.0 && b.height() > 0.0) else {
            return GridIndex {
                exact,
                origin: Coord { x: 0.0, y: 0.0 },
                cell: 1.0,
                cols: 0,
                rows: 0,
                cells: vec![],
            };
        };
        let cell = (bounds.width() * bounds.height() / cells.max(1) as f64).sqrt();
        // Whole cells over the extent, one more each way so the extent's far edge is inside.
        let cols = (bounds.width() / cell) as usize + 1;
        let rows = (bounds.height() / cell) as usize + 1;
        let mut grid =
            GridIndex { exact, origin: bounds.min(), cell, cols, rows, cells: vec![UNSEEN; cols * rows] };
        grid.mark_borders();
        grid.fill_areas();
        grid
    }

    /// The regions, in the order given to the exact index.
    pub fn regions(&self) -> &[Region] {
        self.exact.regions()
    }

    /// The exact index the grid falls back on.
    pub fn exact(&self) -> &RegionIndex {
        &self.exact
    }

    /// The region at `(lon, lat)`, if any: the exact index's answer (see its docs for points on
    /// borders).
    pub fn at(&self, lon: f64, lat: f64) -> Option<&Region> {
        let x = (lon - self.origin.x) / self.cell;
        let y = (lat - self.origin.y) / self.cell;
        // Also false for NaN.
        if x >= 0.0 && y >= 0.0 && x < self.cols as f64 && y < self.rows as f64 {
            match self.cells[y as usize * self.cols + x as usize] {
                BORDER => {}
                OUTSIDE => return None,
                i => return Some(&self.regions()[i as usize]),
            }
        }
        self.exact.at(lon, lat)
    }

    /// Share of the cells a border touches (their points take the exact test).
    pub fn border_share(&self) -> f64 {
        self.cells.iter().filter(|c| **c == BORDER).count() as f64 / self.cells.len().max(1) as f64
    }

    /// Mark every cell a border piece's widened box overlaps.
    fn mark_borders(&mut self) {
        let rings: Vec<Vec<Coord<f64>>> = self
            .exact
            .regions()
            .iter()
            .flat_map(|r| r.shape.iter())
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|ring| ring.coords().copied().collect())
            .collect();
        for ring in &rings {
            for seg in ring.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                // Pieces no longer than half a cell, so each box spans at most 2×2 cells.
                let len = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
                let pieces = (len / (self.cell * 0.5)).ceil().max(1.0) as usize;
                let mut from = a;
                for k in 1..=pieces {
                    let to = if k == pieces {
                        b
                    } else {
                        let t = k as f64 / pieces as f64;
                        Coord { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }
                    };
                    self.mark_box(from.x.min(to.x), from.y.min(to.y), from.x.max(to.x), from.y.max(to.y));
                    from = to;
                }
            }
        }
    }

    fn mark_box(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) {
        let col = |x: f64| ((x - self.origin.x) / self.cell).floor();
        let row = |y: f64| ((y - self.origin.y) / self.cell).floor();
        let clamp = |v: f64, n: usize| v.clamp(0.0, n as f64 - 1.0) as usize;
        let (c0, c1) = (clamp(col(x0 - Self::SLACK), self.cols), clamp(col(x1 + Self::SLACK), self.cols));
        let (r0, r1) = (clamp(row(y0 - Self::SLACK), self.rows), clamp(row(y1 + Self::SLACK), self.rows));
        for r in r0..=r1 {
            self.cells[r * self.cols + c0..=r * self.cols + c1].fill(BORDER);
        }
    }

    /// Give each 4-connected area of unmarked cells the exact answer at one of its centres.
    fn fill_areas(&mut self) {
        let mut stack = Vec::new();
        for start in 0..self.cells.len() {
            if self.cells[start] != UNSEEN {
                continue;
            }
            let (col, row) = (start % self.cols, start / self.cols);
            let centre_x = self.origin.x + (col as f64 + 0.5) * self.cell;
            let centre_y = self.origin.y + (row as f64 + 0.5) * self.cell;
            let regions = self.exact.regions();
            let answer = self.exact.at(centre_x, centre_y).map_or(OUTSIDE, |r| {
                let i = regions.iter().position(|x| std::ptr::eq(x, r)).expect("a region of the index");
                u32::try_from(i).expect("fewer regions than cell codes")
            });
            self.cells[start] = answer;
            stack.push(start);
            while let Some(i) = stack.pop() {
                let (c, r) = (i % self.cols, i / self.cols);
                let mut visit = |j: usize, cells: &mut Vec<u32>| {
                    if cells[j] == UNSEEN {
                        cells[j] = answer;
                        stack.push(j);
                    }
                };
                if c > 0 {
                    visit(i - 1, &mut self.cells);
                }
                if c + 1 < self.cols {
                    visit(i + 1, &mut self.cells);
                }
                if r > 0 {
                    visit(i - self.cols, &mut self.cells);
                }
                if r + 1 < self.rows {
                    visit(i + self.cols, &mut self.cells);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use geo::Intersects;

    use super::*;
    use crate::data::Layer;
    use crate::parse_regions;

    fn counties(cells: usize) -> GridIndex {
        GridIndex::new(RegionIndex::new(parse_regions(Layer::Counties.geojson()).expect("parses")), cells)
    }

    /// A small deterministic generator (xorshift), so failures name a reproducible point.
    fn points(n: usize, seed: u64) -> impl Iterator<Item = (f64, f64)> {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        // Hubei is 108.3–116.2 E, 29.0–33.3 N: a box a little larger, so the grid's edges and
        // the outside are sampled too.
        (0..n).map(move |_| (107.5 + 9.5 * next(), 28.5 + 5.5 * next()))
    }

    fn same(grid: &GridIndex, lon: f64, lat: f64) {
        let want = grid.exact().at(lon, lat).map(|r| r.adcode.as_str());
        let got = grid.at(lon, lat).map(|r| r.adcode.as_str());
        assert_eq!(got, want, "({lon:?}, {lat:?})");
    }

    #[test]
    fn random_points_get_the_exact_answer_and_most_skip_the_exact_test() {
        let grid = counties(GridIndex::DEFAULT_CELLS);
        for (lon, lat) in points(30_000, 0x9e37_79b9_7f4a_7c15) {
            same(&grid, lon, lat);
        }
        // 103 counties: the borders touch a small share of the cells.
        let share = grid.border_share();
        assert!(share > 0.0 && share < 0.15, "border cells {share}");
    }

    #[test]
    fn points_on_and_next_to_borders_get_the_exact_answer() {
        // A coarse grid, so each cell holds many border vertices and the unmarked cells run up
        // against them; every vertex and points a hair either side of it.
        let grid = counties(4_096);
        let vertices: Vec<Coord<f64>> = grid
            .regions()
            .iter()
            .flat_map(|r| r.shape.iter())
            .flat_map(|p| p.exterior().coords().copied().collect::<Vec<_>>())
            .step_by(7)
            .collect();
        assert!(vertices.len() > 1_000);
        for v in vertices {
            for (dx, dy) in [(0.0, 0.0), (1e-7, 0.0), (-1e-7, 0.0), (0.0, 1e-7), (0.0, -1e-7), (3e-3, 3e-3)] {
                same(&grid, v.x + dx, v.y + dy);
            }
        }
    }

    #[test]
    fn no_border_crosses_an_unmarked_cell() {
        // An unmarked cell's centre is never on a border (its area's answer would be wrong).
        let grid = counties(16_384);
        let rings: Vec<geo::LineString<f64>> = grid
            .regions()
            .iter()
            .flat_map(|r| r.shape.iter())
            .flat_map(|p| std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned()))
            .collect();
        let mut unmarked = 0;
        for (i, c) in grid.cells.iter().enumerate() {
            if *c == BORDER {
                continue;
            }
            unmarked += 1;
            let (col, row) = ((i % grid.cols) as f64, (i / grid.cols) as f64);
            let cell = geo::Rect::new(
                Coord { x: grid.origin.x + col * grid.cell, y: grid.origin.y + row * grid.cell },
                Coord {
                    x: grid.origin.x + (col + 1.0) * grid.cell,
                    y: grid.origin.y + (row + 1.0) * grid.cell,
                },
            );
            if i % 5 == 0 {
                let near = rings.iter().filter(|r| r.bounding_rect().is_some_and(|b| b.intersects(&cell)));
                assert!(!near.into_iter().any(|r| r.intersects(&cell)), "a border crosses unmarked cell {i}");
            }
        }
        assert!(unmarked > 8_000, "most cells are unmarked ({unmarked})");
    }

    #[test]
    fn odd_queries_fall_back_to_the_exact_index() {
        let grid = counties(GridIndex::DEFAULT_CELLS);
        assert!(grid.at(f64::NAN, 30.5).is_none());
        assert!(grid.at(114.3, f64::INFINITY).is_none());
        assert!(grid.at(-180.0, -90.0).is_none());
        same(&grid, 114.2199, 30.5797); // 宗关, 硚口区
        let empty = GridIndex::new(RegionIndex::new(vec![]), 100);
        assert!(empty.at(114.3, 30.5).is_none());
    }
}
