//! Two jobs at build time:
//!
//! - Rebuild the server when the wall app in `dist/` is rebuilt, so the embedded copy is current.
//!   (Trunk replaces `dist/` on every build, which changes the folder's modification time.)
//! - In release builds, compress the app's files (wasm, JavaScript, CSS) and the map layers with
//!   brotli at its best quality (11), once, so the server sends them precompressed: the wasm
//!   crosses the intranet to every wall at a quarter of its size, and no request waits for a
//!   compressor. `$OUT_DIR/precompressed.rs` lists them; debug builds list none and compress on
//!   the fly, as for every other answer.
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The files compressed: `(name served, file)`; the app's assets by their name in `dist/`, the
/// map layers as `geo/<file>`.
fn inputs(manifest: &Path) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if let Ok(dir) = std::fs::read_dir(manifest.join("../dist")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if [".wasm", ".js", ".css"].iter().any(|x| name.ends_with(x)) {
                v.push((name, e.path()));
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(manifest.join("../maps/data")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".geojson") {
                v.push((format!("geo/{name}"), e.path()));
            }
        }
    }
    v.sort();
    v
}

fn main() {
    println!("cargo:rerun-if-changed=../dist");
    println!("cargo:rerun-if-changed=../maps/data");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let mut table = String::from(
        "/// Files sent precompressed with brotli: the name served, and the compressed bytes.\n\
         pub(super) static BROTLI: &[(&str, &[u8])] = &[\n",
    );
    if release {
        for (name, path) in inputs(&manifest) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let dest = out.join(format!("{}.br", name.replace('/', "_")));
            let mut w = brotli::CompressorWriter::new(Vec::new(), 1 << 16, 11, 22);
            w.write_all(&data).expect("compressing in memory");
            std::fs::write(&dest, w.into_inner())
                .unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
            let _ = writeln!(table, "    ({name:?}, include_bytes!({:?})),", dest.display().to_string());
        }
    }
    table.push_str("];\n");
    std::fs::write(out.join("precompressed.rs"), table).expect("writing precompressed.rs");
}
