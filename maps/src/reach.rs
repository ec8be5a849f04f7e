//! River reaches around monitoring sections, so a river can be coloured by the water class its
//! sections report.
//!
//! Algorithm: find the point of the river nearest the section (planar search over every segment
//! with longitude scaled by cos(latitude), which is exact enough over a few kilometres), then
//! walk the line it lies on both ways, measuring with the haversine distance ([`geo::Haversine`]),
//! until `half_km` is covered or the line ends; the ends are interpolated.
//!
//! Caveats: a reach follows the river's parts where they join end to end (the source splits
//! rivers at confluences) and stops where the data has a gap; a section farther than
//! `max_off_km` from the river gets no reach.
//!
//! ```
//! use geo::{LineString, MultiLineString};
//! use yiping_maps::reach::reach;
//! // A straight east–west river along 30°N and a section just north of it.
//! let river = MultiLineString::new(vec![LineString::from(vec![(113.0, 30.0), (115.0, 30.0)])]);
//! let r = reach(&river, 114.0, 30.01, 10.0, 3.0).expect("the section is 1.1 km off the river");
//! assert!((r.length_km - 20.0).abs() < 0.1);
//! ```

use geo::{Coord, Distance, Haversine, LineString, MultiLineString, Point};

/// A stretch of river around a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// The stretch.
    pub line: LineString<f64>,
    /// Its length along the river, km.
    pub length_km: f64,
    /// How far the section lies from the river, km.
    pub off_km: f64,
}

/// Parts of a river whose ends are this close are one river (the source data leaves gaps of a
/// few hundred metres where it splits rivers at confluences).
const JOIN_KM: f64 = 0.5;

fn km(a: Coord<f64>, b: Coord<f64>) -> f64 {
    Haversine.distance(Point::from(a), Point::from(b)) / 1000.0
}

fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    Coord { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }
}

/// The reach of `river` within `half_km` along it on either side of the point nearest
/// `(lon, lat)`; `None` when that point is more than `max_off_km` away.
pub fn reach(
    river: &MultiLineString<f64>,
    lon: f64,
    lat: f64,
    half_km: f64,
    max_off_km: f64,
) -> Option<Reach> {
    let p = Coord { x: lon, y: lat };
    let k = lat.to_radians().cos();
    // Nearest point: (line, segment, t along it).
    let mut best: Option<(usize, usize, f64, f64)> = None;
    for (li, line) in river.0.iter().enumerate() {
        for (si, seg) in line.lines().enumerate() {
            let (ax, ay) = ((seg.start.x - lon) * k, seg.start.y - lat);
            let (bx, by) = ((seg.end.x - lon) * k, seg.end.y - lat);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
            let d2 = (ax + t * dx).powi(2) + (ay + t * dy).powi(2);
            if best.is_none_or(|b| d2 < b.3) {
                best = Some((li, si, t, d2));
            }
        }
    }
    let (li, si, t, _) = best?;
    let coords = &river.0[li].0;
    let foot = lerp(coords[si], coords[si + 1], t);
    let off_km = km(p, foot);
    if off_km > max_off_km {
        return None;
    }
    // Walk one way from the foot through `first` vertices, then on along any other part of the
    // river that joins where the line ends (rivers are split at confluences), until `half_km` is
    // used up.
    let walk = |first: Vec<Coord<f64>>| -> (Vec<Coord<f64>>, f64) {
        let mut out = Vec::new();
        let mut left = half_km;
        let mut at = foot;
        let mut used = vec![li];
        let mut vertices = first;
        loop {
            for v in vertices {
                let d = km(at, v);
                if d >= left {
                    out.push(lerp(at, v, if d > 0.0 { left / d } else { 0.0 }));
                    return (out, half_km);
                }
                left -= d;
                out.push(v);
                at = v;
            }
            // The part that starts or ends nearest (within JOIN_KM) continues the river.
            let joined = river
                .0
                .iter()
                .enumerate()
                .filter(|(i, l)| !used.contains(i) && l.0.len() > 1)
                .flat_map(|(i, l)| [(i, true, km(at, l.0[0])), (i, false, km(at, l.0[l.0.len() - 1]))])
                .filter(|c| c.2 <= JOIN_KM)
                .min_by(|a, b| a.2.total_cmp(&b.2));
            let Some((i, from_start, _)) = joined else { return (out, half_km - left) };
            used.push(i);
            let l = &river.0[i].0;
            vertices = if from_start { l.clone() } else { l.iter().rev().copied().collect() };
        }
    };
    let (mut back, back_km) = walk(coords[..=si].iter().rev().copied().collect());
    let (ahead, ahead_km) = walk(coords[si + 1..].to_vec());
    back.reverse();
    back.push(foot);
    back.extend(ahead);
    Some(Reach { line: LineString::new(back), length_km: back_km + ahead_km, off_km })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Layer;
    use crate::water::parse_rivers;

    fn river(name: &str) -> MultiLineString<f64> {
        let rivers = parse_rivers(Layer::Rivers.geojson()).expect("shipped layer parses");
        rivers.into_iter().find(|r| r.name.as_deref() == Some(name)).expect("named river is shipped").shape
    }

    #[test]
    fn sections_on_the_yangtze_and_the_han_get_reaches_of_the_asked_length() {
        // Sections from the built-in table (real national monitoring sections).
        let cj = river("长江");
        let hj = river("汉江");
        for (r, lon, lat, name, full) in [
            (&cj, 114.2554, 30.5127, "杨泗港", true),
            (&cj, 112.1006, 30.2931, "观音寺", true),
            (&cj, 115.8949, 29.7365, "中官铺", true),
            (&hj, 113.9233, 30.6300, "新沟", true),
            // 宗关 is about 7 km above the 汉江's mouth at 武汉: the reach ends there.
            (&hj, 114.2199, 30.5797, "宗关", false),
        ] {
            let reach = reach(r, lon, lat, 12.0, 5.0).unwrap_or_else(|| panic!("{name} lies on its river"));
            assert!(reach.off_km < 5.0, "{name}: {} km off", reach.off_km);
            if full {
                assert!((reach.length_km - 24.0).abs() < 0.01, "{name}: {} km", reach.length_km);
            } else {
                assert!(reach.length_km > 15.0 && reach.length_km < 23.0, "{name}: {} km", reach.length_km);
            }
            // Along the river is never shorter than as the crow flies.
            let p = Coord { x: lon, y: lat };
            assert!(reach.line.coords().all(|c| km(p, *c) <= 12.0 + reach.off_km + 1e-6), "{name}");
        }
    }

    #[test]
    fn a_point_far_from_the_river_has_no_reach_and_ends_are_respected() {
        let line = MultiLineString::new(vec![LineString::from(vec![(113.0, 30.0), (113.1, 30.0)])]);
        assert!(reach(&line, 113.05, 31.0, 5.0, 3.0).is_none(), "111 km away");
        // Near the east end: the reach is cut where the line ends.
        let r = reach(&line, 113.099, 30.0, 5.0, 3.0).expect("on the line");
        let total = km(Coord { x: 113.0, y: 30.0 }, Coord { x: 113.1, y: 30.0 });
        assert!(r.length_km < 10.0 && r.length_km > 5.0 && r.length_km <= total + 1e-9, "{}", r.length_km);
        assert_eq!(r.line.0.last(), Some(&Coord { x: 113.1, y: 30.0 }));
    }
}
