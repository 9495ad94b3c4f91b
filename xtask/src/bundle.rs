//! The web client's bundle as the server sends it: trunk's release build,
//! then each file the page loads (`.wasm`, `.js`, `.css`) gzip-compressed
//! once more with zopfli beside it (`name.wasm.gz`). The server sends
//! those to browsers that accept gzip (`Content-Encoding: gzip`), instead
//! of compressing on every request: zopfli spends seconds, once per build,
//! for a stream about 4% smaller than gzip's best, which any browser reads.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd;

/// The files a browser downloads, by extension.
const SENT: [&str; 3] = ["wasm", "js", "css"];

/// `cargo xtask bundle`: the release build of the web client, precompressed.
pub fn build() -> Result<()> {
    cmd::run(&mut trunk_build())?;
    precompress(&dist())
}

fn trunk_build() -> std::process::Command {
    let mut trunk = cmd::new("trunk");
    trunk
        .current_dir(cmd::workspace_root().join("frontend"))
        .args(["build", "--release", "--offline"]);
    trunk
}

fn dist() -> PathBuf {
    cmd::workspace_root().join("frontend").join("dist")
}

/// Writes `file.gz` beside each file of `dir` the page loads. trunk
/// empties `dist` on every build, so none is stale.
pub fn precompress(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let sent = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SENT.contains(&e));
        if !sent {
            continue;
        }
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let packed = gzip(&data).with_context(|| format!("compressing {}", path.display()))?;
        let mut name = path.clone().into_os_string();
        name.push(".gz");
        fs::write(&name, &packed).with_context(|| format!("writing {}", name.display()))?;
        println!(
            "{}: {} bytes, {} gzipped",
            path.file_name().unwrap_or_default().to_string_lossy(),
            data.len(),
            packed.len()
        );
    }
    Ok(())
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut packed = Vec::with_capacity(data.len() / 2);
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        data,
        &mut packed,
    )?;
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn what_it_writes_is_gzip_that_reads_back_to_the_file() {
        let text = "hubbub ".repeat(2_000).into_bytes();
        let packed = gzip(&text).unwrap();
        assert!(packed.len() < text.len() / 20, "{} bytes", packed.len());
        assert_eq!(&packed[..2], [0x1f, 0x8b], "the gzip magic");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn only_what_the_page_loads_is_precompressed() {
        let dir = std::env::temp_dir().join(format!("hubbub-bundle-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for name in ["app_bg.wasm", "app.js", "styles.css", "index.html"] {
            fs::write(dir.join(name), name.repeat(100)).unwrap();
        }
        precompress(&dir).unwrap();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".gz"))
            .collect();
        names.sort();
        assert_eq!(names, ["app.js.gz", "app_bg.wasm.gz", "styles.css.gz"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
