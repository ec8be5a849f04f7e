//! The map's layers: fetched once from the server, parsed once, kept for the page's life.

use std::sync::{Arc, Mutex};

use geo::MultiPolygon;
use yiping_maps::data::Layer;
use yiping_maps::hit::RegionIndex;
use yiping_maps::region::bbox;
use yiping_maps::topology::Topology;
use yiping_maps::water::{Lake, River, parse_lakes, parse_rivers};
use yiping_maps::{Region, parse_regions};

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
    /// The shapes simplified for the last tolerance used (its bits).
    pub(super) simplified: Mutex<Option<(u64, Shapes)>>,
}

/// Every shape, simplified, shared between frames.
pub(super) type Shapes = Arc<Vec<MultiPolygon<f64>>>;

impl Layers {
    /// Every shape (province, prefectures, counties) simplified to `epsilon` degrees; recomputed
    /// only when the tolerance changes (a new size or view).
    pub(super) fn shapes(&self, epsilon: f64) -> Shapes {
        let mut cache = self.simplified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((e, shapes)) = cache.as_ref()
            && *e == epsilon.to_bits()
        {
            return shapes.clone();
        }
        let shapes = Arc::new(self.topology.simplified(epsilon));
        *cache = Some((epsilon.to_bits(), shapes.clone()));
        shapes
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

/// The layers cut to the page's region (see [`crate::site`]): the province as they are; for a
/// prefecture-level division (a city deployment, or a user scoped to it) its outline stands for
/// the province's and its counties for the prefectures, with nothing under them; for a county,
/// its outline alone.
fn rooted(
    region: &str,
    province: Vec<Region>,
    prefectures: Vec<Region>,
    counties: Vec<Region>,
) -> (Vec<Region>, Vec<Region>, Vec<Region>) {
    if region == crate::site::PROVINCE {
        return (province, prefectures, counties);
    }
    if let Some(outline) = prefectures.into_iter().find(|p| p.adcode == region) {
        let children = counties
            .into_iter()
            .filter(|c| c.parent.as_deref() == Some(region) && c.adcode != region)
            .collect();
        return (vec![outline], children, Vec::new());
    }
    (counties.into_iter().filter(|c| c.adcode == region).collect(), Vec::new(), Vec::new())
}

pub(super) async fn load() -> Result<Layers, String> {
    let get = |l: Layer| async move { crate::http::fetch_text(&format!("/geo/{}", l.file_name())).await };
    let regions = |text: String| parse_regions(&text).map_err(|e| e.to_string());
    // The five layers are fetched at once (each is one request), then parsed.
    let (province, prefectures, counties, rivers, lakes) = futures_util::future::try_join5(
        get(Layer::Province),
        get(Layer::Prefectures),
        get(Layer::Counties),
        get(Layer::Rivers),
        get(Layer::Lakes),
    )
    .await?;
    let (province, prefectures, counties) = rooted(
        crate::site::current().region(),
        regions(province)?,
        regions(prefectures)?,
        regions(counties)?,
    );
    let rivers = parse_rivers(&rivers).map_err(|e| e.to_string())?;
    let lakes = parse_lakes(&lakes).map_err(|e| e.to_string())?;
    let all: Vec<Region> = province.iter().chain(&prefectures).chain(&counties).cloned().collect();
    let topology = Topology::build(&all);
    Ok(Layers {
        province,
        prefectures: RegionIndex::new(prefectures),
        counties: RegionIndex::new(counties),
        rivers,
        lakes,
        topology,
        simplified: Mutex::new(None),
    })
}
