//! Label placement without overlaps.
//!
//! Algorithm: greedy placement by priority (as most cartographic engines do for live maps). Each
//! candidate has a size, an anchor, a priority and a list of positions to try (centred on the
//! anchor for area labels; beside it for point labels). Candidates are taken highest priority
//! first (ties: input order); each takes the first of its positions whose box, grown by a
//! padding, meets no box already placed and no obstacle (e.g. a live marker) and lies inside the
//! screen (trying first its first position, then the one it `prefer`s, then the others); a
//! candidate with no free position is left out, or, if it is *required*, placed where it is
//! least covered (the smallest area shared with obstacles and boxes placed before it).
//! Placed boxes are kept in an R-tree, so placing n labels costs O(n log n).
//!
//! Caveat: greedy is not optimal (a high-priority label can block two lower ones that a smarter
//! search would both keep), but it is stable: the same input gives the same picture, and a
//! label never moves because a lower-priority one appeared.
//!
//! ```
//! use yiping_maps::labels::{Candidate, Placement, place};
//! let a = Candidate::area(100.0, 100.0, 60.0, 20.0, 10);
//! let b = Candidate::area(110.0, 105.0, 60.0, 20.0, 5); // overlaps a, lower priority
//! let placed = place(&[a, b], &[], 1000.0, 1000.0, 2.0);
//! assert!(matches!(placed[0], Placement::At { .. }));
//! assert_eq!(placed[1], Placement::Hidden);
//! ```

use rstar::{AABB, RTree, RTreeObject};

/// A label to place: its box size, anchor, priority and the offsets to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Anchor x (screen pixels).
    pub x: f64,
    /// Anchor y.
    pub y: f64,
    /// Box width.
    pub w: f64,
    /// Box height.
    pub h: f64,
    /// Higher is placed first.
    pub priority: i32,
    /// Offsets of the box centre from the anchor to try, in order.
    pub offsets: Vec<(f64, f64)>,
    /// Placed even when every position is taken (a name the map must show, such as a
    /// prefecture's on the province view): at the position least covered by what is there
    /// already; it still blocks later labels.
    pub required: bool,
    /// An offset (index into `offsets`) to try right after the first: where the label was last
    /// time (the `offset` of its last [`Placement::At`]), so that a label that had to step aside does not hop
    /// between places as what is around it moves.
    pub prefer: Option<usize>,
}

impl Candidate {
    /// A label centred on its anchor only (a region's name at its label point).
    pub fn area(x: f64, y: f64, w: f64, h: f64, priority: i32) -> Candidate {
        Candidate { x, y, w, h, priority, offsets: vec![(0.0, 0.0)], required: false, prefer: None }
    }

    /// A region's name at its label point, or nudged just above, below or beside it when a
    /// marker or another name is in the way; shown in any case (`required`).
    pub fn region(x: f64, y: f64, w: f64, h: f64, priority: i32) -> Candidate {
        let offsets = vec![(0.0, 0.0), (0.0, -0.9 * h), (0.0, 0.9 * h), (0.6 * w, 0.0), (-0.6 * w, 0.0)];
        Candidate { x, y, w, h, priority, offsets, required: true, prefer: None }
    }

    /// A label beside a point marker of radius `r`: right, left, above, below.
    pub fn point(x: f64, y: f64, w: f64, h: f64, r: f64, priority: i32) -> Candidate {
        let gap = r + 0.25 * h;
        let offsets = vec![
            (gap + w / 2.0, 0.0),
            (-(gap + w / 2.0), 0.0),
            (0.0, -(gap + h / 2.0)),
            (0.0, gap + h / 2.0),
        ];
        Candidate { x, y, w, h, priority, offsets, required: false, prefer: None }
    }
}

/// Where a label went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Drawn with its box centred here.
    At {
        /// Centre x.
        x: f64,
        /// Centre y.
        y: f64,
        /// Which of the candidate's offsets it took.
        offset: usize,
    },
    /// Left out: every position would overlap.
    Hidden,
}

#[derive(Debug, Clone, Copy)]
struct Placed(AABB<[f64; 2]>);

impl RTreeObject for Placed {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.0
    }
}

/// A screen rectangle `[x0, y0, x1, y1]` that labels must not cover.
pub type Obstacle = [f64; 4];

/// Place `candidates` on a `width × height` screen, keeping `pad` pixels between boxes and off
/// `obstacles`. Returns one placement per candidate, in input order.
pub fn place(
    candidates: &[Candidate],
    obstacles: &[Obstacle],
    width: f64,
    height: f64,
    pad: f64,
) -> Vec<Placement> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(candidates[i].priority));
    let mut tree: RTree<Placed> = RTree::bulk_load(
        obstacles.iter().map(|o| Placed(AABB::from_corners([o[0], o[1]], [o[2], o[3]]))).collect(),
    );
    let mut out = vec![Placement::Hidden; candidates.len()];
    for i in order {
        let c = &candidates[i];
        if !(c.x.is_finite() && c.y.is_finite() && c.w > 0.0 && c.h > 0.0) {
            continue;
        }
        let boxed = |dx: f64, dy: f64| {
            let (cx, cy) = (c.x + dx, c.y + dy);
            (cx, cy, [cx - c.w / 2.0, cy - c.h / 2.0, cx + c.w / 2.0, cy + c.h / 2.0])
        };
        // The offsets in the order tried: the first, the preferred one, the others.
        let prefer = c.prefer.filter(|&k| k > 0 && k < c.offsets.len());
        let tries: Vec<usize> = (0..c.offsets.len().min(1))
            .chain(prefer)
            .chain((1..c.offsets.len()).filter(|&k| Some(k) != prefer))
            .collect();
        for &k in &tries {
            let (dx, dy) = c.offsets[k];
            let (cx, cy, [x0, y0, x1, y1]) = boxed(dx, dy);
            if x0 < 0.0 || y0 < 0.0 || x1 > width || y1 > height {
                continue;
            }
            let probe = AABB::from_corners([x0 - pad, y0 - pad], [x1 + pad, y1 + pad]);
            if tree.locate_in_envelope_intersecting(&probe).next().is_none() {
                tree.insert(Placed(AABB::from_corners([x0, y0], [x1, y1])));
                out[i] = Placement::At { x: cx, y: cy, offset: k };
                break;
            }
        }
        if c.required && out[i] == Placement::Hidden {
            // No free position: the on-screen one least covered (the areas it shares with each
            // obstacle and label placed before it, summed), the first tried of equals; the first
            // position if none is on screen.
            let covered = |b: [f64; 4]| -> f64 {
                let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
                tree.locate_in_envelope_intersecting(&env)
                    .map(|p| {
                        let (lo, hi) = (p.0.lower(), p.0.upper());
                        (b[2].min(hi[0]) - b[0].max(lo[0])).max(0.0)
                            * (b[3].min(hi[1]) - b[1].max(lo[1])).max(0.0)
                    })
                    .sum()
            };
            let on_screen = |b: [f64; 4]| b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= width && b[3] <= height;
            let at = |k: usize| (k, boxed(c.offsets[k].0, c.offsets[k].1));
            let best = tries
                .iter()
                .map(|&k| at(k))
                .filter(|&(_, (_, _, b))| on_screen(b))
                .map(|(k, p)| (covered(p.2), k, p))
                .fold(None, |best: Option<(f64, usize, _)>, x| match best {
                    Some(b) if b.0 <= x.0 => Some(b),
                    _ => Some(x),
                })
                .map(|(_, k, p)| (k, p))
                .or_else(|| tries.first().map(|&k| at(k)));
            if let Some((k, (cx, cy, [x0, y0, x1, y1]))) = best {
                tree.insert(Placed(AABB::from_corners([x0, y0], [x1, y1])));
                out[i] = Placement::At { x: cx, y: cy, offset: k };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Viewport, parse_regions};

    fn boxes(c: &[Candidate], p: &[Placement]) -> Vec<[f64; 4]> {
        c.iter()
            .zip(p)
            .filter_map(|(c, p)| match p {
                Placement::At { x, y, .. } => {
                    Some([x - c.w / 2.0, y - c.h / 2.0, x + c.w / 2.0, y + c.h / 2.0])
                }
                Placement::Hidden => None,
            })
            .collect()
    }

    fn overlap(a: [f64; 4], b: [f64; 4]) -> bool {
        a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
    }

    #[test]
    fn hubei_county_names_never_overlap_and_prefectures_win() {
        // All 17 prefecture and 103 county names at once on a 1080p map: the dense east (武汉,
        // 鄂州, 黄石) is where a naive map draws names over each other.
        let pre = parse_regions(crate::data::Layer::Prefectures.geojson()).expect("shipped layer parses");
        let cty = parse_regions(crate::data::Layer::Counties.geojson()).expect("shipped layer parses");
        let vp = Viewport::fit([108.36, 29.03, 116.13, 33.28], 1200.0, 700.0, 20.0);
        let label = |r: &crate::Region, px: f64, prio: i32| {
            let (x, y) = vp.to_screen(r.label.x, r.label.y);
            Candidate::area(x, y, px * r.short_name.chars().count() as f64, px * 1.2, prio)
        };
        let cands: Vec<Candidate> =
            pre.iter().map(|r| label(r, 17.0, 100)).chain(cty.iter().map(|r| label(r, 12.0, 10))).collect();
        let placed = place(&cands, &[], 1200.0, 700.0, 2.0);
        let b = boxes(&cands, &placed);
        for i in 0..b.len() {
            for j in i + 1..b.len() {
                assert!(!overlap(b[i], b[j]), "{i} {j}");
            }
        }
        // Every prefecture name is placed (they come first and their seats are far enough apart
        // at this size), and some county names had to give way.
        assert!(placed[..17].iter().all(|p| matches!(p, Placement::At { .. })), "{placed:?}");
        let shown = placed[17..].iter().filter(|p| matches!(p, Placement::At { .. })).count();
        assert!(shown > 30 && shown < 103, "{shown}");
        // The same input places the same way.
        assert_eq!(place(&cands, &[], 1200.0, 700.0, 2.0), placed);
    }

    #[test]
    fn point_labels_step_aside_for_obstacles_and_screen_edges() {
        let c = Candidate::point(100.0, 100.0, 40.0, 10.0, 5.0, 1);
        // Free: to the right.
        assert_eq!(
            place(std::slice::from_ref(&c), &[], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 127.5, y: 100.0, offset: 0 }]
        );
        // An obstacle on the right: to the left.
        let right = [105.0, 90.0, 160.0, 110.0];
        assert_eq!(
            place(std::slice::from_ref(&c), &[right], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 72.5, y: 100.0, offset: 1 }]
        );
        // Against the right edge of the screen: not off it.
        let edge = Candidate::point(490.0, 100.0, 40.0, 10.0, 5.0, 1);
        assert_eq!(
            place(&[edge], &[], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 462.5, y: 100.0, offset: 1 }]
        );
        // Nowhere to go: hidden, and a bad anchor is hidden too.
        let all = [0.0, 0.0, 500.0, 500.0];
        assert_eq!(place(&[c], &[all], 500.0, 500.0, 1.0), vec![Placement::Hidden]);
        assert_eq!(
            place(&[Candidate::area(f64::NAN, 1.0, 1.0, 1.0, 1)], &[], 9.0, 9.0, 0.0),
            vec![Placement::Hidden]
        );
    }

    #[test]
    fn region_names_step_aside_for_markers_and_are_shown_in_any_case() {
        let marker = [95.0, 95.0, 105.0, 105.0];
        let c = Candidate::region(100.0, 100.0, 40.0, 20.0, 100);
        // The marker covers the label point: the name moves just above it.
        assert_eq!(
            place(std::slice::from_ref(&c), &[marker], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 100.0, y: 82.0, offset: 1 }]
        );
        // Nowhere free: still shown at its label point, and a later name gives way to it.
        let all = [0.0, 0.0, 500.0, 500.0];
        let later = Candidate::area(100.0, 100.0, 10.0, 10.0, 1);
        assert_eq!(
            place(&[c.clone(), later], &[all], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 100.0, y: 100.0, offset: 0 }, Placement::Hidden]
        );
        // Nowhere free, but less covered beside the point than on it: markers on the point,
        // above, below and on the right cover the box 600 px² on the point, 452 above or below,
        // 544 on the right and 144 on the left: on the left.
        let dense = [
            [90.0, 90.0, 110.0, 110.0],
            [90.0, 72.0, 110.0, 92.0],
            [90.0, 108.0, 110.0, 128.0],
            [114.0, 90.0, 134.0, 110.0],
        ];
        assert_eq!(
            place(std::slice::from_ref(&c), &dense, 500.0, 500.0, 1.0),
            vec![Placement::At { x: 76.0, y: 100.0, offset: 4 }]
        );
        // A name placed before it counts as a marker does: one on the left (placed first, and
        // free there) makes the left 544 px²; above and below are the least covered, above first.
        let first = Candidate::area(66.0, 100.0, 20.0, 20.0, 200);
        assert_eq!(
            place(&[first, c.clone()], &dense, 500.0, 500.0, 1.0),
            vec![
                Placement::At { x: 66.0, y: 100.0, offset: 0 },
                Placement::At { x: 100.0, y: 82.0, offset: 1 }
            ]
        );
        // The same 60 px further left, against the screen's edge: the left position would be
        // off screen, so above.
        let at_edge: Vec<[f64; 4]> = dense.iter().map(|b| [b[0] - 60.0, b[1], b[2] - 60.0, b[3]]).collect();
        let edge = Candidate::region(40.0, 100.0, 40.0, 20.0, 100);
        assert_eq!(
            place(&[edge], &at_edge, 500.0, 500.0, 1.0),
            vec![Placement::At { x: 40.0, y: 82.0, offset: 1 }]
        );
        // Every position as covered as the others: the first.
        let same = [[0.0, 0.0, 500.0, 500.0]];
        assert_eq!(
            place(&[c], &same, 500.0, 500.0, 1.0),
            vec![Placement::At { x: 100.0, y: 100.0, offset: 0 }]
        );
    }

    #[test]
    fn a_label_keeps_its_last_place_while_its_first_is_taken() {
        let marker = [98.0, 98.0, 102.0, 102.0];
        let mut c = Candidate::region(100.0, 100.0, 40.0, 20.0, 100);
        // Last time on the right: with the label point taken it stays there, not above.
        c.prefer = Some(3);
        assert_eq!(
            place(std::slice::from_ref(&c), &[marker], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 124.0, y: 100.0, offset: 3 }]
        );
        // The label point free again: back on it.
        assert_eq!(
            place(&[c], &[], 500.0, 500.0, 1.0),
            vec![Placement::At { x: 100.0, y: 100.0, offset: 0 }]
        );
    }

    #[test]
    fn a_label_never_gives_way_to_a_lower_priority_one() {
        let hi = Candidate::area(50.0, 50.0, 40.0, 10.0, 9);
        let lo = Candidate::area(55.0, 50.0, 40.0, 10.0, 1);
        let p = place(&[lo.clone(), hi.clone()], &[], 200.0, 200.0, 0.0);
        assert_eq!(p, vec![Placement::Hidden, Placement::At { x: 50.0, y: 50.0, offset: 0 }]);
    }
}
