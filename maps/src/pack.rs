//! The map's layers in one compact binary file, for the wall: read in a few milliseconds where
//! the GeoJSON took a parse of 2 MB of text and a topology build (at 7680×2160 those were
//! 200–300 ms of the wall's first paint, in long tasks).
//!
//! Algorithm: the server cuts the province, prefecture and county layers into shared arcs once
//! ([`Topology::build`]) and writes the arcs, then each region as its names, label point and
//! rings of arc references, then the rivers and lakes as plain lines and rings. The reader
//! rebuilds the topology from the arcs and each region's shape by joining its arcs, so nothing is
//! parsed as text and nothing is rebuilt.
//!
//! Encoding (little-endian, all counts and lengths as LEB128 varints):
//! - `YPMAP` and a version byte (1);
//! - the arcs: a count, then each arc's point count and its points;
//! - three layers (province, prefectures, counties): a count, then per region its adcode, name,
//!   short name and parent (strings: a length and UTF-8; the parent's length is one more, 0 being
//!   none), its label point (two 64-bit floats, as given or computed), and its polygons: per polygon its rings (exterior first), per ring
//!   its arc references (`arc << 1 | reversed`);
//! - rivers: a count, then per river its name (as a parent), its rank (a byte) and its lines;
//! - lakes: a count, then per lake its name and its polygons as rings of points;
//! - points are whole units of 10⁻⁷ degree (about a centimetre), each coordinate stored as the
//!   zigzag varint of its difference from the previous point's (the first from zero).
//!
//! Caveats: a coordinate with more than seven decimals is rounded to seven (the shipped layers
//! have five and come back bit for bit). A ring joined from arcs may start at another vertex
//! than in the source; it is the same ring. Every count and index is checked while reading, and
//! the rings may not use the arcs' points more than eight times in all: a damaged file is refused
//! with the byte offset and what was wrong, never a panic or an allocation without bound.
//!
//! ```
//! use yiping_maps::pack;
//! let bytes = pack::shipped();
//! let back = pack::read(&bytes).unwrap();
//! assert_eq!((back.prefectures.len(), back.counties.len()), (17, 103));
//! assert_eq!(back.topology.region_count(), 1 + 17 + 103);
//! assert!(pack::read(&bytes[..100]).unwrap_err().to_string().contains("at byte"));
//! ```

use geo::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};

use crate::Region;
use crate::boundaries::Boundaries;
use crate::data::Layer;
use crate::topology::{ArcRef, Topology};
use crate::water::{Lake, River, parse_lakes, parse_rivers};

const MAGIC: &[u8; 6] = b"YPMAP\x01";
/// Units per degree.
const SCALE: f64 = 1e7;
/// How many times the rings may use the arcs' points in all (see [`read`]).
const MAX_USES: usize = 8;

/// The layers read back from a pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// The province (one region).
    pub province: Vec<Region>,
    /// Its prefecture-level divisions.
    pub prefectures: Vec<Region>,
    /// Its county-level divisions.
    pub counties: Vec<Region>,
    /// River lines.
    pub rivers: Vec<River>,
    /// Lakes and river areas.
    pub lakes: Vec<Lake>,
    /// Province, prefectures and counties, in that order, as shared arcs.
    pub topology: Topology,
}

/// Why a pack could not be read: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("map pack: at byte {offset}: {problem}")]
pub struct PackError {
    /// The byte offset in the file where reading stopped.
    pub offset: usize,
    /// What was wrong there.
    pub problem: String,
}

/// The pack of the shipped layers.
pub fn shipped() -> Vec<u8> {
    write(&Boundaries::shipped())
}

/// The pack of a deployment's administrative layers (checked: see [`Boundaries`]) with the
/// shipped rivers and lakes.
pub fn write(b: &Boundaries) -> Vec<u8> {
    let rivers = parse_rivers(Layer::Rivers.geojson()).expect("the shipped rivers parse (tested)");
    let lakes = parse_lakes(Layer::Lakes.geojson()).expect("the shipped lakes parse (tested)");
    let all: Vec<Region> = b.province.iter().chain(&b.prefectures).chain(&b.counties).cloned().collect();
    let topo = Topology::build(&all);
    let mut w = Writer { out: MAGIC.to_vec() };
    w.count(topo.arcs().len());
    for arc in topo.arcs() {
        w.points(arc);
    }
    let mut refs = topo.region_refs().iter();
    for layer in [&b.province, &b.prefectures, &b.counties] {
        w.count(layer.len());
        for (r, polys) in layer.iter().zip(refs.by_ref()) {
            w.text(&r.adcode);
            w.text(&r.name);
            w.text(&r.short_name);
            w.optional(r.parent.as_deref());
            w.out.extend_from_slice(&r.label.x.to_le_bytes());
            w.out.extend_from_slice(&r.label.y.to_le_bytes());
            w.count(polys.len());
            for rings in polys {
                w.count(rings.len());
                for ring in rings {
                    w.count(ring.len());
                    for a in ring {
                        w.varint(((a.arc as u64) << 1) | u64::from(a.reversed));
                    }
                }
            }
        }
    }
    w.count(rivers.len());
    for r in &rivers {
        w.optional(r.name.as_deref());
        w.out.push(r.rank);
        w.count(r.shape.0.len());
        for line in &r.shape {
            w.points(&line.0);
        }
    }
    w.count(lakes.len());
    for l in &lakes {
        w.optional(l.name.as_deref());
        w.polygons(&l.shape);
    }
    w.out
}

/// Read a pack (see the module's docs for what is checked).
pub fn read(bytes: &[u8]) -> Result<Pack, PackError> {
    let mut r = Reader { bytes, at: 0 };
    if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(r.fail("not a yiping map pack (version 1)"));
    }
    r.at = MAGIC.len();
    let arcs: Vec<Vec<Coord<f64>>> = (0..r.count(2)?).map(|_| r.points()).collect::<Result<_, _>>()?;
    // The points the regions' rings join from the arcs: in a real pack each arc is used by at
    // most two regions of each of the three layers. Far more means a damaged file that would
    // build shapes without bound.
    let arc_points: usize = arcs.iter().map(Vec::len).sum();
    let mut uses =
        Uses { arcs: &arcs, arc_points, most: arc_points.saturating_mul(MAX_USES).max(1024), joined: 0 };
    let mut layers: [Vec<Region>; 3] = Default::default();
    let mut refs = Vec::new();
    for layer in &mut layers {
        for _ in 0..r.count(8)? {
            let adcode = r.text()?;
            let name = r.text()?;
            let short_name = r.text()?;
            let parent = r.optional()?;
            let label = Coord { x: r.float()?, y: r.float()? };
            let polys = (0..r.count(1)?)
                .map(|_| (0..r.count(1)?).map(|_| r.arc_refs(&mut uses)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?;
            if polys.iter().any(|rings| rings.is_empty()) {
                return Err(r.fail(format!("region {adcode}: a polygon without rings")));
            }
            refs.push(polys);
            let shape = MultiPolygon::new(Vec::new());
            layer.push(Region { adcode, name, short_name, label, shape, parent });
        }
    }
    let rivers = (0..r.count(3)?)
        .map(|_| {
            let name = r.optional()?;
            let rank = r.byte()?;
            let lines =
                (0..r.count(1)?).map(|_| Ok(LineString::new(r.points()?))).collect::<Result<_, _>>()?;
            Ok(River { name, rank, shape: MultiLineString::new(lines) })
        })
        .collect::<Result<Vec<_>, PackError>>()?;
    let lakes = (0..r.count(2)?)
        .map(|_| Ok(Lake { name: r.optional()?, shape: r.polygons()? }))
        .collect::<Result<Vec<_>, PackError>>()?;
    if r.at != bytes.len() {
        return Err(r.fail(format!("{} bytes after the end", bytes.len() - r.at)));
    }
    let topology = Topology::from_parts(arcs, refs);
    let [mut province, mut prefectures, mut counties] = layers;
    let mut shapes = topology.simplified(0.0).into_iter();
    for region in province.iter_mut().chain(&mut prefectures).chain(&mut counties) {
        region.shape = shapes.next().unwrap_or_else(|| MultiPolygon::new(Vec::new()));
    }
    Ok(Pack { province, prefectures, counties, rivers, lakes, topology })
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn count(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn text(&mut self, s: &str) {
        self.count(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn optional(&mut self, s: Option<&str>) {
        match s {
            None => self.varint(0),
            Some(s) => {
                self.count(s.len() + 1);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn points(&mut self, pts: &[Coord<f64>]) {
        self.count(pts.len());
        let (mut px, mut py) = (0i64, 0i64);
        for c in pts {
            let (x, y) = ((c.x * SCALE).round() as i64, (c.y * SCALE).round() as i64);
            for d in [x - px, y - py] {
                self.varint(((d << 1) ^ (d >> 63)) as u64);
            }
            (px, py) = (x, y);
        }
    }

    fn polygons(&mut self, shape: &MultiPolygon<f64>) {
        self.count(shape.0.len());
        for p in shape {
            self.count(1 + p.interiors().len());
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                self.points(&ring.0);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// The arcs a pack's rings refer to, and how many of their points the rings have joined so far
/// (at most `most`: see [`MAX_USES`]).
struct Uses<'a> {
    arcs: &'a [Vec<Coord<f64>>],
    arc_points: usize,
    most: usize,
    joined: usize,
}

impl Reader<'_> {
    fn fail(&self, problem: impl Into<String>) -> PackError {
        PackError { offset: self.at, problem: problem.into() }
    }

    fn byte(&mut self) -> Result<u8, PackError> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.fail("the file ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn float(&mut self) -> Result<f64, PackError> {
        let b = self.slice(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn varint(&mut self) -> Result<u64, PackError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(self.fail("a number longer than 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.fail("a number longer than 64 bits"))
    }

    /// A count of items that each take at least `min_bytes`: more than the bytes left could hold
    /// is refused before anything is allocated for them.
    fn count(&mut self, min_bytes: usize) -> Result<usize, PackError> {
        let n = self.varint()?;
        let left = self.bytes.len() - self.at;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_bytes.max(1)) <= left)
            .ok_or_else(|| self.fail(format!("a count of {n} with {left} bytes left")))
    }

    fn slice(&mut self, n: usize) -> Result<&[u8], PackError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.fail(format!("{n} bytes past the end")))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn utf8(&mut self, n: usize) -> Result<String, PackError> {
        let at = self.at;
        let s = self.slice(n)?;
        String::from_utf8(s.to_vec()).map_err(|e| PackError { offset: at, problem: format!("text: {e}") })
    }

    fn text(&mut self) -> Result<String, PackError> {
        let n = self.count(1)?;
        self.utf8(n)
    }

    fn optional(&mut self) -> Result<Option<String>, PackError> {
        match self.count(1)? {
            0 => Ok(None),
            n => self.utf8(n - 1).map(Some),
        }
    }

    fn points(&mut self) -> Result<Vec<Coord<f64>>, PackError> {
        let n = self.count(2)?;
        let mut pts = Vec::with_capacity(n);
        let (mut x, mut y) = (0i64, 0i64);
        for _ in 0..n {
            let mut next = |v: i64| -> Result<i64, PackError> {
                let z = self.varint()?;
                let d = (z >> 1) as i64 ^ -((z & 1) as i64);
                v.checked_add(d).ok_or_else(|| self.fail("a coordinate out of range"))
            };
            (x, y) = (next(x)?, next(y)?);
            pts.push(Coord { x: x as f64 / SCALE, y: y as f64 / SCALE });
        }
        Ok(pts)
    }

    /// One ring's references to the arcs, each checked to name an arc and counted in `uses`.
    fn arc_refs(&mut self, uses: &mut Uses<'_>) -> Result<Vec<ArcRef>, PackError> {
        (0..self.count(1)?)
            .map(|_| {
                let v = self.varint()?;
                let arc = usize::try_from(v >> 1).ok().filter(|&a| a < uses.arcs.len());
                let arc = arc.ok_or_else(|| self.fail(format!("arc {} of {}", v >> 1, uses.arcs.len())))?;
                uses.joined = uses.joined.saturating_add(uses.arcs[arc].len());
                if uses.joined > uses.most {
                    return Err(self.fail(format!(
                        "the rings join more than {MAX_USES} times the {} arc points",
                        uses.arc_points
                    )));
                }
                Ok(ArcRef { arc, reversed: v & 1 == 1 })
            })
            .collect()
    }

    fn polygons(&mut self) -> Result<MultiPolygon<f64>, PackError> {
        let polys = (0..self.count(1)?)
            .map(|_| {
                let mut rings: Vec<LineString<f64>> = (0..self.count(1)?)
                    .map(|_| Ok(LineString::new(self.points()?)))
                    .collect::<Result<_, _>>()?;
                if rings.is_empty() {
                    return Err(self.fail("a polygon without rings"));
                }
                let exterior = rings.remove(0);
                Ok(Polygon::new(exterior, rings))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultiPolygon::new(polys))
    }
}

#[cfg(test)]
mod tests {
    use geo::{Area, CoordsIter};

    use super::*;

    #[test]
    fn the_shipped_layers_come_back_as_parsed() {
        let b = Boundaries::shipped();
        let bytes = shipped();
        let p = read(&bytes).expect("the pack reads");
        for (mine, theirs) in
            [(&p.province, &b.province), (&p.prefectures, &b.prefectures), (&p.counties, &b.counties)]
        {
            assert_eq!(mine.len(), theirs.len());
            for (a, o) in mine.iter().zip(theirs) {
                assert_eq!(
                    (&a.adcode, &a.name, &a.short_name, &a.parent),
                    (&o.adcode, &o.name, &o.short_name, &o.parent)
                );
                assert_eq!(a.label, o.label, "{}", a.adcode);
                assert_eq!(a.shape.coords_count(), o.shape.coords_count(), "{}", a.adcode);
                assert!((a.shape.unsigned_area() - o.shape.unsigned_area()).abs() < 1e-12, "{}", a.adcode);
                // Every vertex of the source is a vertex of the shape read back (rings may start
                // elsewhere), bit for bit.
                let keys = |m: &MultiPolygon<f64>| {
                    let mut v: Vec<(u64, u64)> =
                        m.coords_iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                assert_eq!(keys(&a.shape), keys(&o.shape), "{}", a.adcode);
            }
        }
        let rivers = parse_rivers(Layer::Rivers.geojson()).expect("rivers");
        let lakes = parse_lakes(Layer::Lakes.geojson()).expect("lakes");
        assert_eq!(p.rivers.len(), rivers.len());
        for (a, o) in p.rivers.iter().zip(&rivers) {
            assert_eq!((&a.name, a.rank, &a.shape), (&o.name, o.rank, &o.shape));
        }
        assert_eq!(p.lakes.len(), lakes.len());
        for (a, o) in p.lakes.iter().zip(&lakes) {
            assert_eq!((&a.name, &a.shape), (&o.name, &o.shape));
        }
        // The topology read equals the one built from the source, at every tolerance.
        let all: Vec<Region> = b.province.iter().chain(&b.prefectures).chain(&b.counties).cloned().collect();
        let built = Topology::build(&all);
        assert_eq!(p.topology.simplified(0.004), built.simplified(0.004));
        // A third of the GeoJSON's size or less (2.1 MB of text).
        let geojson: usize = Layer::ALL.iter().map(|l| l.geojson().len()).sum();
        assert!(bytes.len() * 3 < geojson, "{} bytes against {geojson}", bytes.len());
        eprintln!("pack: {} bytes; GeoJSON: {geojson}", bytes.len());
    }

    #[test]
    fn a_damaged_pack_is_refused_with_where_and_why() {
        let bytes = shipped();
        assert_eq!(
            read(b"{\"type\":").expect_err("refused").to_string(),
            "map pack: at byte 0: not a yiping map pack (version 1)"
        );
        // Cut anywhere: refused, never a panic.
        for cut in (0..bytes.len()).step_by(bytes.len() / 97) {
            let e = read(&bytes[..cut]).expect_err("refused");
            assert!(e.offset <= cut, "{cut}: {e}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(read(&longer).expect_err("refused").problem, "1 bytes after the end");
        // A count larger than the file could hold is refused before anything is allocated.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(read(&huge).expect_err("refused").problem.starts_with("a count of 4294967295"));
        // An arc reference past the arcs.
        let mut w = Writer { out: MAGIC.to_vec() };
        w.count(0);
        w.count(1);
        for t in ["420000", "湖北省", "湖北"] {
            w.text(t);
        }
        w.optional(None);
        w.out.extend_from_slice(&[0; 16]);
        for n in [1, 1, 1, 0] {
            w.count(n);
        }
        assert_eq!(read(&w.out).expect_err("refused").problem, "arc 0 of 0");
        // One arc used over and over by a ring: refused before the rings are joined.
        let mut w = Writer { out: MAGIC.to_vec() };
        w.count(1);
        w.points(&(0..2000).map(|i| Coord { x: 112.0 + f64::from(i) * 1e-4, y: 31.0 }).collect::<Vec<_>>());
        w.count(1);
        for t in ["420000", "湖北省", "湖北"] {
            w.text(t);
        }
        w.optional(None);
        w.out.extend_from_slice(&[0; 16]);
        for n in [1, 1, 100_000] {
            w.count(n);
        }
        w.out.extend(std::iter::repeat_n(0u8, 100_000));
        let e = read(&w.out).expect_err("refused");
        assert_eq!(e.problem, "the rings join more than 8 times the 2000 arc points");
        // Any single byte changed: read or refused, never a panic.
        for (i, step) in (MAGIC.len()..bytes.len()).step_by(bytes.len() / 89).enumerate() {
            let mut b = bytes.clone();
            b[step] ^= 1 << (i % 8);
            let _ = read(&b);
        }
    }
}
