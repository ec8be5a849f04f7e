//! Rebuild the server when the wall app in `dist/` is rebuilt, so the embedded copy is current.
//! (Trunk replaces `dist/` on every build, which changes the folder's modification time.)
fn main() {
    println!("cargo:rerun-if-changed=../dist");
    println!("cargo:rerun-if-changed=build.rs");
}
