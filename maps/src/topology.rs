//! Simplification per zoom level that keeps neighbouring borders shared.
//!
//! Simplifying each region on its own would move a shared border differently on its two sides and
//! open slivers and overlaps between neighbours. Instead the regions are first cut into **arcs**
//! (the TopoJSON idea): a ring is cut at every vertex where the set of rings passing through it
//! changes (where three regions meet, or a shared border meets the outer boundary), so each border
//! between two regions is one arc used by both. Each arc is simplified once, with
//! Ramer–Douglas–Peucker (`geo::Simplify`), keeping its end points; the regions are reassembled
//! from the simplified arcs, so neighbours stay exactly edge to edge at every zoom. Layers nested
//! in one another (a province, its prefectures, their counties) share arcs the same way, so a
//! prefecture's simplified border is exactly its counties' (a vertex on three or more rings is
//! not a cut by itself: every vertex of a prefecture's border is on four rings, two prefectures'
//! and two counties').
//!
//! Caveats: a ring that would collapse (fewer than 4 points) is kept unsimplified (and so is a
//! closed arc in [`Topology::borders`]; a ring of several arcs that collapses keeps its arcs
//! unsimplified, while its borders are the simplified arcs); RDP does not
//! prevent an arc from crossing another arc at large tolerances (tested clean up to 0.006°, about
//! a pixel of a province-wide 1080p view; at 0.02° slivers appear): pick about a pixel at the zoom
//! drawn, as [`Topology::simplified`] is meant to be used. Vertices are matched
//! exactly, as in data whose neighbours share vertices (the shipped layers do, by construction).
//!
//! ```
//! use yiping_maps::{data::Layer, parse_regions, topology::Topology};
//! let counties = parse_regions(Layer::Counties.geojson()).unwrap();
//! let topo = Topology::build(&counties);
//! let coarse = topo.simplified(0.005); // about a pixel of a province-wide view
//! assert_eq!(coarse.len(), counties.len());
//! ```

use std::collections::HashMap;

use geo::{Coord, LineString, MultiLineString, MultiPolygon, Polygon, Simplify};

use crate::Region;

type Key = (u64, u64);

fn key(c: &Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

/// A use of an arc in a ring, possibly backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArcRef {
    pub(crate) arc: usize,
    pub(crate) reversed: bool,
}

/// Per region, per polygon, per ring (exterior first): the arcs in order.
pub(crate) type RegionRefs = Vec<Vec<Vec<ArcRef>>>;

/// Every arc of a [`Topology`], simplified by one tolerance ([`Topology::simplify`]).
#[derive(Debug, Clone)]
pub struct Arcs(Vec<Vec<Coord<f64>>>);

/// Regions as rings of shared arcs.
#[derive(Debug, Clone)]
pub struct Topology {
    arcs: Vec<Vec<Coord<f64>>>,
    /// Per region, per polygon, per ring (exterior first): the arcs in order.
    regions: Vec<RegionRefs>,
}

impl Topology {
    /// Cut `regions` into shared arcs.
    pub fn build(regions: &[Region]) -> Topology {
        // Every ring, as its vertices without the closing repeat.
        let rings: Vec<Vec<Vec<Vec<Coord<f64>>>>> = regions
            .iter()
            .map(|r| {
                r.shape
                    .iter()
                    .map(|p| {
                        std::iter::once(p.exterior())
                            .chain(p.interiors())
                            .map(|ring| {
                                let mut v: Vec<Coord<f64>> = ring.coords().copied().collect();
                                if v.len() > 1 && v.first() == v.last() {
                                    v.pop();
                                }
                                v
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Which rings pass through each vertex.
        let mut through: HashMap<Key, Vec<usize>> = HashMap::new();
        let mut ring_id = 0;
        for region in &rings {
            for poly in region {
                for ring in poly {
                    for c in ring {
                        let e = through.entry(key(c)).or_default();
                        if e.last() != Some(&ring_id) {
                            e.push(ring_id);
                        }
                    }
                    ring_id += 1;
                }
            }
        }
        let mut topo = Topology { arcs: Vec::new(), regions: Vec::new() };
        let mut index: HashMap<Vec<Key>, usize> = HashMap::new();
        for region in &rings {
            let mut out_region = Vec::new();
            for poly in region {
                let mut out_poly = Vec::new();
                for ring in poly {
                    out_poly.push(topo.cut_ring(ring, &through, &mut index));
                }
                out_region.push(out_poly);
            }
            topo.regions.push(out_region);
        }
        topo
    }

    fn cut_ring(
        &mut self,
        ring: &[Coord<f64>],
        through: &HashMap<Key, Vec<usize>>,
        index: &mut HashMap<Vec<Key>, usize>,
    ) -> Vec<ArcRef> {
        let n = ring.len();
        if n == 0 {
            return Vec::new();
        }
        let set = |i: usize| through.get(&key(&ring[i % n])).map(Vec::as_slice).unwrap_or(&[]);
        let cuts: Vec<usize> = (0..n)
            .filter(|&i| {
                let s = set(i);
                s != set(i + n - 1) || s != set(i + 1)
            })
            .collect();
        let mut pieces: Vec<Vec<Coord<f64>>> = Vec::new();
        if cuts.is_empty() {
            // A closed arc (an island, or a ring shared whole with one other: an enclave). Start it
            // at its smallest vertex so both users find the same arc.
            let start = (0..n).min_by_key(|&i| key(&ring[i])).unwrap_or(0);
            let mut v: Vec<Coord<f64>> = (0..=n).map(|k| ring[(start + k) % n]).collect();
            // Canonical direction too: the smaller of the two second vertices first.
            if n > 2 && key(&v[1]) > key(&v[n - 1]) {
                v.reverse();
            }
            pieces.push(v);
        } else {
            for (j, &c) in cuts.iter().enumerate() {
                let next = cuts[(j + 1) % cuts.len()];
                let len = if next > c { next - c } else { next + n - c };
                pieces.push((0..=len).map(|k| ring[(c + k) % n]).collect());
            }
        }
        pieces
            .into_iter()
            .map(|piece| {
                let fwd: Vec<Key> = piece.iter().map(key).collect();
                if let Some(&arc) = index.get(&fwd) {
                    return ArcRef { arc, reversed: false };
                }
                let rev: Vec<Key> = fwd.iter().rev().copied().collect();
                if let Some(&arc) = index.get(&rev) {
                    return ArcRef { arc, reversed: true };
                }
                let arc = self.arcs.len();
                self.arcs.push(piece);
                index.insert(fwd, arc);
                ArcRef { arc, reversed: false }
            })
            .collect()
    }

    /// A topology from its arcs and its regions' references to them (as [`crate::pack`] reads
    /// them; every reference must name an arc, and every polygon have a ring).
    pub(crate) fn from_parts(arcs: Vec<Vec<Coord<f64>>>, regions: Vec<RegionRefs>) -> Topology {
        Topology { arcs, regions }
    }

    pub(crate) fn arcs(&self) -> &[Vec<Coord<f64>>] {
        &self.arcs
    }

    pub(crate) fn region_refs(&self) -> &[RegionRefs] {
        &self.regions
    }

    /// How many regions it holds.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// The topology of some of the regions, by their positions in this one, in the order given
    /// (a city's wall draws its own part of the province's layers); arcs none of them uses are
    /// left out. A position past the end is skipped.
    pub fn select(&self, which: &[usize]) -> Topology {
        // Every region in its order (the province's wall): the topology as it is.
        if which.iter().copied().eq(0..self.regions.len()) {
            return self.clone();
        }
        let mut renumber: HashMap<usize, usize> = HashMap::new();
        let mut arcs = Vec::new();
        let regions = which
            .iter()
            .filter_map(|&i| self.regions.get(i))
            .map(|polys| {
                polys
                    .iter()
                    .map(|rings| {
                        rings
                            .iter()
                            .map(|refs| {
                                refs.iter()
                                    .map(|r| {
                                        let arc = *renumber.entry(r.arc).or_insert_with(|| {
                                            arcs.push(self.arcs[r.arc].clone());
                                            arcs.len() - 1
                                        });
                                        ArcRef { arc, reversed: r.reversed }
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Topology { arcs, regions }
    }

    /// How many distinct arcs the regions are made of.
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    /// The regions with every arc simplified by `epsilon` (in the data's units: degrees), in the
    /// order they were given. `epsilon = 0` gives the original geometry.
    pub fn simplified(&self, epsilon: f64) -> Vec<MultiPolygon<f64>> {
        // At no tolerance the arcs are joined as they are, not copied first.
        if epsilon > 0.0 { self.assemble(&self.simplify(epsilon)) } else { self.assemble_from(&self.arcs) }
    }

    /// Every arc simplified by `epsilon` (degrees), for [`Topology::assemble`] and
    /// [`Topology::borders`] to share one simplification.
    pub fn simplify(&self, epsilon: f64) -> Arcs {
        Arcs(if epsilon > 0.0 {
            self.arcs.iter().map(|a| LineString::new(a.clone()).simplify(epsilon).0).collect()
        } else {
            self.arcs.clone()
        })
    }

    /// The regions from `arcs` (this topology's, from [`Topology::simplify`]), in the order they
    /// were given.
    pub fn assemble(&self, arcs: &Arcs) -> Vec<MultiPolygon<f64>> {
        self.assemble_from(self.own(arcs))
    }

    /// The borders of the regions `which` (indices in this topology's order): every arc one of
    /// them uses, once, as simplified in `arcs` (this topology's, from [`Topology::simplify`]).
    /// Stroking these draws a border between two of the regions once, where stroking each
    /// region's outline draws it twice: twice the work, and a translucent colour darker on the
    /// shared borders than on the outer edge.
    ///
    /// ```
    /// use yiping_maps::{data::Layer, parse_regions, topology::Topology};
    /// let prefectures = parse_regions(Layer::Prefectures.geojson()).unwrap();
    /// let topo = Topology::build(&prefectures);
    /// let arcs = topo.simplify(0.005);
    /// let borders = topo.borders(&arcs, 0..prefectures.len());
    /// assert_eq!(borders.0.len(), topo.arc_count());
    /// ```
    pub fn borders(&self, arcs: &Arcs, which: impl IntoIterator<Item = usize>) -> MultiLineString<f64> {
        let arcs = self.own(arcs);
        let mut taken = vec![false; arcs.len()];
        let mut lines = Vec::new();
        for region in which {
            for r in self.regions.get(region).into_iter().flatten().flatten().flatten() {
                if std::mem::replace(&mut taken[r.arc], true) {
                    continue;
                }
                // A closed arc (an island, a hole) that would collapse is kept as it was, as its
                // ring is (see the module's caveats).
                let (simple, original) = (&arcs[r.arc], &self.arcs[r.arc]);
                let closed = original.len() > 1 && original.first() == original.last();
                let line = if closed && simple.len() < 4 { original } else { simple };
                if line.len() >= 2 {
                    lines.push(LineString::new(line.clone()));
                }
            }
        }
        MultiLineString::new(lines)
    }

    fn own<'a>(&self, arcs: &'a Arcs) -> &'a [Vec<Coord<f64>>] {
        assert_eq!(
            arcs.0.len(),
            self.arcs.len(),
            "arcs simplified from another topology (their count differs)"
        );
        &arcs.0
    }

    fn assemble_from(&self, arcs: &[Vec<Coord<f64>>]) -> Vec<MultiPolygon<f64>> {
        self.regions
            .iter()
            .map(|polys| {
                MultiPolygon::new(
                    polys
                        .iter()
                        .map(|rings| {
                            let mut built: Vec<LineString<f64>> =
                                rings.iter().map(|refs| self.ring(refs, arcs)).collect();
                            let exterior = built.remove(0);
                            Polygon::new(exterior, built)
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn ring(&self, refs: &[ArcRef], arcs: &[Vec<Coord<f64>>]) -> LineString<f64> {
        let assemble = |arcs: &[Vec<Coord<f64>>]| {
            let mut v: Vec<Coord<f64>> = Vec::new();
            for r in refs {
                let a = &arcs[r.arc];
                let pts: Box<dyn Iterator<Item = &Coord<f64>>> =
                    if r.reversed { Box::new(a.iter().rev()) } else { Box::new(a.iter()) };
                for c in pts {
                    if v.last() != Some(c) {
                        v.push(*c);
                    }
                }
            }
            if v.first() != v.last()
                && let Some(&f) = v.first()
            {
                v.push(f);
            }
            v
        };
        let v = assemble(arcs);
        // Too few points left to be a ring: keep this ring as it was.
        if v.len() < 4 { LineString::new(assemble(&self.arcs)) } else { LineString::new(v) }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use geo::{Area, BooleanOps, CoordsIter};

    use super::*;
    use crate::data::Layer;
    use crate::parse_regions;

    fn counties() -> Vec<Region> {
        parse_regions(Layer::Counties.geojson()).expect("county layer parses")
    }

    #[test]
    fn zero_tolerance_reproduces_the_input() {
        let c = counties();
        let topo = Topology::build(&c);
        for (orig, back) in c.iter().zip(topo.simplified(0.0)) {
            let area = |m: &MultiPolygon<f64>| m.unsigned_area();
            assert!((area(&orig.shape) - area(&back)).abs() < 1e-12, "{}", orig.adcode);
            assert_eq!(orig.shape.coords_count(), back.coords_count(), "{}", orig.adcode);
        }
    }

    /// Each segment of `lines`, without its direction.
    fn segments<'a>(lines: impl IntoIterator<Item = &'a LineString<f64>>) -> Vec<(Key, Key)> {
        lines
            .into_iter()
            .flat_map(|l| l.lines())
            .filter(|s| s.start != s.end)
            .map(|s| {
                let (a, b) = (key(&s.start), key(&s.end));
                if a < b { (a, b) } else { (b, a) }
            })
            .collect()
    }

    #[test]
    fn borders_hold_each_regions_edge_once() {
        let c = counties();
        let topo = Topology::build(&c);
        // 武汉's counties: each segment of their rings is in the borders, shared ones once.
        let which: Vec<usize> = (0..c.len()).filter(|&i| c[i].adcode.starts_with("4201")).collect();
        for eps in [0.0, 0.002] {
            let arcs = topo.simplify(eps);
            let shapes = topo.assemble(&arcs);
            let borders = topo.borders(&arcs, which.iter().copied());
            let drawn = segments(&borders.0);
            let unique: HashSet<(Key, Key)> = drawn.iter().copied().collect();
            assert_eq!(unique.len(), drawn.len(), "ε {eps}: a segment drawn twice");
            let rings: Vec<(Key, Key)> = segments(which.iter().flat_map(|&i| {
                shapes[i].iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            }));
            let edges: HashSet<(Key, Key)> = rings.iter().copied().collect();
            assert_eq!(unique, edges, "ε {eps}: the borders are the rings' edges");
            // The districts share borders: their rings hold many segments twice.
            assert!(
                rings.len() > edges.len() + edges.len() / 4,
                "ε {eps}: {} of {}",
                rings.len(),
                edges.len()
            );
        }
        // Every county at a coarse tolerance, where small islands and holes would collapse: the
        // borders are still the rings' edges (kept as they were, both).
        let arcs = topo.simplify(1.0 / 128.0);
        let shapes = topo.assemble(&arcs);
        let all_rings = shapes
            .iter()
            .flat_map(|m| m.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())));
        let edges: HashSet<(Key, Key)> = segments(all_rings).into_iter().collect();
        let drawn: HashSet<(Key, Key)> = segments(&topo.borders(&arcs, 0..c.len()).0).into_iter().collect();
        assert_eq!(drawn, edges, "ε 1/128: the borders are the rings' edges");
        // The same arcs for one region as for its rings; none for none; an index past the end
        // adds nothing.
        let arcs = topo.simplify(0.002);
        let one = topo.borders(&arcs, [which[0]]);
        let ring_edges: HashSet<(Key, Key)> =
            segments(topo.assemble(&arcs)[which[0]].iter().map(|p| p.exterior())).into_iter().collect();
        assert_eq!(segments(&one.0).into_iter().collect::<HashSet<_>>(), ring_edges);
        assert!(topo.borders(&arcs, []).0.is_empty());
        assert_eq!(topo.borders(&arcs, [which[0], 9_999]), one);
    }

    #[test]
    #[should_panic(expected = "arcs simplified from another topology (their count differs)")]
    fn arcs_of_another_topology_are_refused() {
        let c = counties();
        let whole = Topology::build(&c);
        let part = whole.select(&[0, 1]);
        part.assemble(&whole.simplify(0.002));
    }

    #[test]
    fn nested_layers_share_long_arcs_and_stay_nested() {
        let layer = |l: Layer| parse_regions(l.geojson()).expect("layer parses");
        let (province, prefectures, c) = (layer(Layer::Province), layer(Layer::Prefectures), counties());
        let all: Vec<Region> = province.iter().chain(&prefectures).chain(&c).cloned().collect();
        let topo = Topology::build(&all);
        // Arcs run from junction to junction. (When three rings through a vertex made it a cut,
        // the outline and every prefecture border were one-segment arcs, which no simplification
        // can shorten: over 17,000 of them.)
        let arcs = topo.simplify(0.0);
        assert!(arcs.0.len() < 1_500, "{} arcs", arcs.0.len());
        let upper = 1 + prefectures.len();
        let count = |s: &[MultiPolygon<f64>]| s.iter().map(|m| m.coords_count()).sum::<usize>();
        let original = count(&topo.simplified(0.0)[..upper]);
        for (eps, most) in [(0.001, 0.5), (0.003, 0.3)] {
            let s = topo.simplified(eps);
            // The province and prefectures are simplified as the counties are.
            // (Unsimplified before: 34,716; now 15,714 at 0.001° and 7,940 at 0.003°.)
            let share = count(&s[..upper]) as f64 / original as f64;
            assert!(share < most, "ε {eps}: {:.0} % of the vertices left", share * 100.0);
            // Nested: each prefecture's vertices are its counties' vertices, the province's are
            // the prefectures'.
            let vertices = |m: &MultiPolygon<f64>| m.coords_iter().map(|c| key(&c)).collect::<HashSet<Key>>();
            for (i, p) in prefectures.iter().enumerate() {
                let mine: HashSet<Key> = c
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.parent.as_deref() == Some(p.adcode.as_str()))
                    .flat_map(|(j, _)| vertices(&s[upper + j]))
                    .collect();
                let outside = vertices(&s[1 + i]).difference(&mine).count();
                assert_eq!(outside, 0, "ε {eps}: {} has vertices none of its counties has", p.adcode);
            }
            let below: HashSet<Key> = s[1..upper].iter().flat_map(vertices).collect();
            assert!(vertices(&s[0]).is_subset(&below), "ε {eps}: the outline leaves the prefectures'");
        }
    }

    #[test]
    fn a_selection_is_those_regions_alone() {
        let c = counties();
        let topo = Topology::build(&c);
        // 武汉's counties, and one position past the end (skipped).
        let which: Vec<usize> =
            (0..c.len()).filter(|&i| c[i].adcode.starts_with("4201")).chain([999]).collect();
        let part = topo.select(&which);
        assert_eq!(part.region_count(), which.len() - 1);
        assert!(part.arc_count() < topo.arc_count() / 4, "{} of {} arcs", part.arc_count(), topo.arc_count());
        let whole = topo.simplified(0.003);
        let mine: Vec<MultiPolygon<f64>> =
            which[..which.len() - 1].iter().map(|&i| whole[i].clone()).collect();
        assert_eq!(part.simplified(0.003), mine);
    }

    #[test]
    fn neighbours_stay_edge_to_edge_at_every_zoom() {
        let c = counties();
        let topo = Topology::build(&c);
        let original_vertices: usize = c.iter().map(|r| r.shape.coords_count()).sum();
        // Borders are shared: far fewer arcs than rings would need without sharing.
        assert!(topo.arc_count() > 103 && topo.arc_count() < 2000, "{} arcs", topo.arc_count());
        let province = &parse_regions(Layer::Province.geojson()).expect("province")[0].shape;
        // Holes of a union larger than ~1,000 m² (1e-7 square degrees): smaller ones are the
        // boolean operation's rounding where edges coincide, not gaps in the data.
        let real_holes = |m: &MultiPolygon<f64>| {
            m.iter()
                .flat_map(|p| p.interiors())
                .filter(|h| Polygon::new((*h).clone(), vec![]).unsigned_area() > 1e-7)
                .count()
        };
        let union_of = |s: &[MultiPolygon<f64>]| s.iter().skip(1).fold(s[0].clone(), |acc, m| acc.union(m));
        let original_holes = real_holes(&union_of(&topo.simplified(0.0)));
        for eps in [0.001, 0.003, 0.006] {
            let s = topo.simplified(eps);
            let vertices: usize = s.iter().map(|m| m.coords_count()).sum();
            assert!(vertices < original_vertices, "ε {eps}: {vertices} of {original_vertices}");
            // Every simplified vertex on a border is a vertex of the neighbour too: the set of
            // vertices used by two or more counties is the same seen from either side.
            let sets: Vec<HashSet<Key>> =
                s.iter().map(|m| m.coords_iter().map(|c| key(&c)).collect()).collect();
            // No overlaps: the counties' areas add up to the area of their union; no gaps: the
            // union's area is that of the province simplified alike (within the simplification).
            let sum: f64 = s.iter().map(|m| m.unsigned_area()).sum();
            let union = union_of(&s);
            let ua = union.unsigned_area();
            assert!((sum - ua).abs() / ua < 1e-6, "ε {eps}: overlaps (sum {sum}, union {ua})");
            // No new gaps (a sliver gap of the source may close when its two sides simplify).
            assert!(real_holes(&union) <= original_holes, "ε {eps}: gaps between counties");
            assert!((ua - province.unsigned_area()).abs() / ua < 0.01 + eps, "ε {eps}");
            // Spot check: 武昌区 and 洪山区 share border vertices after simplification.
            let i = c.iter().position(|r| r.adcode == "420106").expect("武昌区");
            let j = c.iter().position(|r| r.adcode == "420111").expect("洪山区");
            assert!(sets[i].intersection(&sets[j]).count() >= 2, "ε {eps}");
        }
        // The check above can fail: simplifying each county on its own opens slivers and overlaps.
        let naive: Vec<MultiPolygon<f64>> = c.iter().map(|r| r.shape.simplify(0.006)).collect();
        let sum: f64 = naive.iter().map(|m| m.unsigned_area()).sum();
        let ua = union_of(&naive).unsigned_area();
        assert!((sum - ua).abs() / ua > 1e-5, "independent simplification overlaps: sum {sum}, union {ua}");
        // At about a pixel of a province-wide 1080p view (≈0.006°) a fraction of the vertices do.
        let coarse: usize = topo.simplified(0.006).iter().map(|m| m.coords_count()).sum();
        eprintln!("vertices: {original_vertices} -> {coarse} at 0.006°");
        assert!(coarse * 3 < original_vertices, "{coarse} of {original_vertices}");
    }
}
