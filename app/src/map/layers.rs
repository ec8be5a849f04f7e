//! The map's layers: fetched once from the server as one map pack, read once, kept for the
//! page's life.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use geo::{MultiLineString, MultiPolygon};
use yiping_maps::Region;
use yiping_maps::hit::RegionIndex;
use yiping_maps::pack::{Pack, read};
use yiping_maps::region::bbox;
use yiping_maps::topology::{Arcs, Topology};
use yiping_maps::water::{Lake, River};

/// The parsed layers.
#[derive(Debug)]
pub(super) struct Layers {
    pub(super) province: Vec<Region>,
    pub(super) prefectures: RegionIndex,
    pub(super) counties: RegionIndex,
    pub(super) rivers: Vec<River>,
    pub(super) lakes: Vec<Lake>,
    /// Province, prefectures and counties, in that order, as shared arcs.
    pub(super) topology: Topology,
    /// The arcs and shapes simplified for the last tolerance used (its bits).
    pub(super) simplified: Mutex<Option<(u64, Arc<Arcs>, Shapes)>>,
}

/// Every shape, simplified, shared between frames.
pub(super) type Shapes = Arc<Vec<MultiPolygon<f64>>>;

impl Layers {
    /// Every shape (province, prefectures, counties) simplified to `epsilon` degrees; recomputed
    /// only when the tolerance changes (a new size or view).
    pub(super) fn shapes(&self, epsilon: f64) -> Shapes {
        self.simplified(epsilon).1
    }

    /// The prefectures' borders simplified to `epsilon` degrees, each once (see
    /// [`Topology::borders`]).
    pub(super) fn prefecture_borders(&self, epsilon: f64) -> MultiLineString<f64> {
        let start = self.province.len();
        self.topology.borders(&self.simplified(epsilon).0, start..start + self.prefectures.regions().len())
    }

    /// The borders of the counties of `prefecture` simplified to `epsilon` degrees, each once.
    pub(super) fn county_borders(&self, epsilon: f64, prefecture: &str) -> MultiLineString<f64> {
        let start = self.province.len() + self.prefectures.regions().len();
        self.topology
            .borders(&self.simplified(epsilon).0, self.counties_of(prefecture).map(|(i, _)| start + i))
    }

    /// The counties of `prefecture`, with their places among the counties.
    pub(super) fn counties_of<'a, 'p>(
        &'a self,
        prefecture: &'p str,
    ) -> impl Iterator<Item = (usize, &'a Region)> + use<'a, 'p> {
        self.counties
            .regions()
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.parent.as_deref() == Some(prefecture))
    }

    fn simplified(&self, epsilon: f64) -> (Arc<Arcs>, Shapes) {
        let mut cache = self.simplified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((e, arcs, shapes)) = cache.as_ref()
            && *e == epsilon.to_bits()
        {
            return (arcs.clone(), shapes.clone());
        }
        let arcs = Arc::new(self.topology.simplify(epsilon));
        let shapes = Arc::new(self.topology.assemble(&arcs));
        *cache = Some((epsilon.to_bits(), arcs.clone(), shapes.clone()));
        (arcs, shapes)
    }

    pub(super) fn prefecture(&self, adcode: &str) -> Option<&Region> {
        self.prefectures.regions().iter().find(|r| r.adcode == adcode)
    }

    pub(super) fn province_box(&self) -> Option<[f64; 4]> {
        bbox(&self.province)
    }

    /// The bounding box shown for a view: the region shown (the province), or one region under
    /// it (a prefecture). With `reserve` (a
    /// fraction of the width that a panel covers on the right while a region is selected), the
    /// prefecture's box is widened eastwards so the region stays clear of the panel.
    pub(super) fn view_box(&self, view: Option<&str>, reserve: f64) -> Option<[f64; 4]> {
        let widen = |b: [f64; 4]| {
            let r = reserve.clamp(0.0, 0.6);
            [b[0], b[1], b[2] + (b[2] - b[0]) * r / (1.0 - r), b[3]]
        };
        // A county is framed with some of its neighbours around it.
        if let Some(c) = view.and_then(|a| self.county(a)) {
            return bbox(std::slice::from_ref(c)).map(|b| {
                let (dx, dy) = ((b[2] - b[0]) * 0.12, (b[3] - b[1]) * 0.12);
                widen([b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy])
            });
        }
        match view.and_then(|a| self.prefecture(a)) {
            Some(p) => bbox(std::slice::from_ref(p)).map(widen),
            None => bbox(&self.province),
        }
    }

    pub(super) fn county(&self, adcode: &str) -> Option<&Region> {
        self.counties.regions().iter().find(|r| r.adcode == adcode)
    }

    /// The prefecture a view shows: the view itself, or a selected county's prefecture.
    pub(super) fn prefecture_of_view<'a>(&'a self, view: Option<&'a str>) -> Option<&'a str> {
        let v = view?;
        match self.county(v) {
            Some(c) => c.parent.as_deref(),
            None => Some(v),
        }
    }
}

/// Positions in the pack's order (province, prefectures, counties) of the layers cut to the
/// page's region (see [`crate::site`]): the province as they are; for a prefecture-level division
/// (a city deployment, or a user scoped to it) its outline stands for the province's and its
/// counties for the prefectures, with nothing under them; for a county, its outline alone.
fn rooted(region: &str, pack: &Pack) -> [Vec<usize>; 3] {
    let (p, f) = (pack.province.len(), pack.prefectures.len());
    let counties = |keep: &dyn Fn(&Region) -> bool| -> Vec<usize> {
        (0..pack.counties.len()).filter(|&i| keep(&pack.counties[i])).map(|i| p + f + i).collect()
    };
    if region == crate::site::PROVINCE {
        return [(0..p).collect(), (p..p + f).collect(), counties(&|_| true)];
    }
    if let Some(i) = pack.prefectures.iter().position(|r| r.adcode == region) {
        let children = counties(&|c| c.parent.as_deref() == Some(region) && c.adcode != region);
        return [vec![p + i], children, Vec::new()];
    }
    [counties(&|c| c.adcode == region), Vec::new(), Vec::new()]
}

thread_local! {
    /// The pack, fetched and read once per page, shared by every map and benchmark on it.
    static PACK: std::cell::RefCell<Option<SharedPack>> = const { std::cell::RefCell::new(None) };
}

type SharedPack = Shared<LocalBoxFuture<'static, Result<Rc<Pack>, String>>>;

/// Every layer the map draws, from the server's map pack (`/geo/layers.pack`: see
/// [`yiping_maps::pack`]), fetched and read once per page.
pub async fn map_pack() -> Result<Rc<Pack>, String> {
    let pack = PACK.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| {
                async {
                    let bytes = crate::http::fetch_bytes("/geo/layers.pack").await?;
                    read(&bytes).map(Rc::new).map_err(|e| e.to_string())
                }
                .boxed_local()
                .shared()
            })
            .clone()
    });
    let got = pack.clone().await;
    if got.is_err() {
        // A failed fetch is tried again by the next caller (unless one already is).
        PACK.with(|p| {
            let mut p = p.borrow_mut();
            if p.as_ref().is_some_and(|s| s.ptr_eq(&pack)) {
                *p = None;
            }
        });
    }
    got
}

pub(super) async fn load() -> Result<Layers, String> {
    let pack = map_pack().await?;
    let [p, f, c] = rooted(crate::site::current().region(), &pack);
    let all: Vec<&Region> = pack.province.iter().chain(&pack.prefectures).chain(&pack.counties).collect();
    let take = |which: &[usize]| -> Vec<Region> { which.iter().map(|&i| all[i].clone()).collect() };
    let topology = pack.topology.select(&[p.as_slice(), &f, &c].concat());
    Ok(Layers {
        province: take(&p),
        prefectures: RegionIndex::new(take(&f)),
        counties: RegionIndex::new(take(&c)),
        rivers: pack.rivers.clone(),
        lakes: pack.lakes.clone(),
        topology,
        simplified: Mutex::new(None),
    })
}
