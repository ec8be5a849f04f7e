//! The yiping map engine and the geographic data of the region.
//!
//! Design:
//! - [`data`] holds the boundary, river and lake layers that ship with the product (GeoJSON, WGS84,
//!   copied from the project's shared data with their licence notices in `maps/data/`).
//! - [`boundaries`] holds a deployment's administrative layers, the shipped ones or its own
//!   official files, checked together before use.
//! - [`region`] parses administrative layers into typed regions (`adcode`, names, label point,
//!   `geo::MultiPolygon`), the one representation both the server (placing entities in regions)
//!   and the app (drawing, hit-testing) use, so map and aggregates agree.
//! - [`projection`] maps WGS84 to the screen: spherical Web Mercator plus a [`projection::Viewport`]
//!   that fits a bounding box into a pixel rectangle.
//! - [`hit`] answers "which region is here" with an R-tree and exact point-in-polygon.
//! - [`grid`] puts that index behind a grid of cells no border touches, which answer at once:
//!   the server places events with it.
//! - [`pack`] writes the layers and their topology into one compact binary file for the wall,
//!   and reads it back without parsing text or rebuilding the topology.
//! - [`cluster`] groups dense point layers into stable grid clusters per zoom.
//! - [`labels`] places names without overlaps (greedy by priority, R-tree of placed boxes).
//! - [`camera`] turns wheel, drag, pinch and keys into zoom and pan of the box shown.
//! - [`water`] reads the river and lake layers; [`reach`] cuts the stretch of river around a
//!   monitoring section, so rivers can be coloured by the class their sections report.
//! - `draw` (wasm only) paints projected layers on a 2D canvas at native device pixels.
//!
//! Everything except `draw` compiles and is tested natively.

pub mod boundaries;
pub mod camera;
pub mod cluster;
pub mod data;
pub mod grid;
pub mod hit;
pub mod labels;
pub mod pack;
pub mod projection;
pub mod reach;
pub mod region;
pub mod topology;
pub mod water;

#[cfg(target_arch = "wasm32")]
pub mod draw;

pub use projection::{Mercator, Viewport};
pub use region::{Region, RegionError, parse_regions};
