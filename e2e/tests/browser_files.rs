//! Sharing a file through the real server, in headless Chromium: alice
//! attaches an image with the attach button and watches its upload reach
//! 100%; bob, in another browser, sees the thumbnail appear and load, a
//! file that is not an image arrives as a card with a download link, and a
//! file over the server's limit is refused with the server's reason. In a
//! conversation of two guests, whose files only they may read, the image
//! shows on both pages (fetched with each guest's token: a guest has no
//! cookie for `<img>` to carry) and a third person cannot fetch it.
//! Screenshots go to target/e2e-artifacts/.

use anyhow::{Context, Result, ensure};
use e2e::{Browser, ChromeDriver, DESKTOP, PHONE, Server, TempDir, UI_TIMEOUT, take_turn, testid};
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn an_attached_image_uploads_to_100_percent_and_appears_for_the_others() -> Result<()> {
    let _turn = take_turn().await;
    // A low limit, so that a refusal is quick to provoke.
    let server = Server::start_with(|config| config.files.max_upload_bytes = 256 << 10).await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    for (browser, nick) in [(&alice, "alice"), (&bob, "bob")] {
        browser.enter(&server.url(), nick).await.context(nick)?;
    }
    alice.wait_online("bob").await?;
    bob.wait_online("alice").await?;

    let files = TempDir::new("e2e-files")?;
    let image = files.path().join("sunset.png");
    std::fs::write(&image, png(160, 100))?;

    // Alice chooses the file with the attach button's file input.
    alice
        .wait_for("file-input")
        .await?
        .send_keys(&image.display().to_string())
        .await
        .context("choosing the file")?;
    // Her upload row reaches 100% and says it is shared. (The row stays a
    // few seconds after the upload, long enough to be seen.)
    e2e::eventually("alice's upload at 100%", UI_TIMEOUT, || async {
        let done = alice
            .count(&format!(r#"{}[data-status="done"]"#, testid("upload")))
            .await?;
        let percent = alice.text_of("upload-percent").await?;
        Ok((done == 1 && percent == "100%").then_some(()))
    })
    .await
    .context("the upload row")?;
    let row = alice.text_of("upload").await?;
    ensure!(row.contains("sunset.png"), "the upload row reads {row:?}");

    // Both pages show the image once the server announces it: bob's as
    // news, alice's as her own message.
    for (browser, who) in [(&bob, "bob"), (&alice, "alice")] {
        let width = wait_thumbnail(browser, "sunset.png")
            .await
            .with_context(|| format!("the thumbnail on {who}'s page"))?;
        ensure!(width == 160, "{who}'s thumbnail is {width} px wide");
    }
    let link = bob
        .client()
        .find(Locator::Css(&format!("{} a", testid("attachment-image"))))
        .await?;
    ensure!(link.attr("target").await?.as_deref() == Some("_blank"));
    ensure!(link.attr("rel").await?.as_deref() == Some("noopener noreferrer"));

    // A file that is not an image: a card with its size and a download link.
    let notes = files.path().join("notes <b>v2.txt");
    std::fs::write(&notes, "minutes of the meeting\n".repeat(100))?;
    alice
        .wait_for("file-input")
        .await?
        .send_keys(&notes.display().to_string())
        .await
        .context("choosing the second file")?;
    let card = e2e::eventually("the file card on bob's page", UI_TIMEOUT, || async {
        let cards = bob
            .client()
            .find_all(Locator::Css(&testid("attachment-file")))
            .await?;
        match cards.first() {
            Some(card) => Ok(Some(card.text().await?)),
            None => Ok(None),
        }
    })
    .await?;
    ensure!(
        card.contains("notes <b>v2.txt") && card.contains("2.2 KB"),
        "the card reads {card:?}"
    );
    let download = bob
        .client()
        .find(Locator::Css(&format!(
            "{} {}",
            testid("attachment-file"),
            testid("attachment-download")
        )))
        .await?;
    ensure!(
        download.attr("download").await?.as_deref() == Some("notes <b>v2.txt"),
        "the download link names the file"
    );

    // Over the limit: the server's own sentence in alice's upload row, and
    // nothing arrives for bob.
    let big = files.path().join("too-big.bin");
    std::fs::write(&big, vec![0u8; 1 << 20])?;
    alice
        .wait_for("file-input")
        .await?
        .send_keys(&big.display().to_string())
        .await
        .context("choosing the file over the limit")?;
    let reason = alice.text_of("upload-reason").await?;
    ensure!(
        reason.starts_with("The file is too large"),
        "alice was told {reason:?}"
    );
    ensure!(bob.count(&testid("attachment-file")).await? == 1);

    screenshots(&alice, "files-desktop").await?;
    screenshots(&bob, "files-phone").await?;
    // The drop zone, as it looks while files are dragged over it.
    alice
        .client()
        .execute(
            "const dt = new DataTransfer();
             dt.items.add(new File(['x'], 'x.png', { type: 'image/png' }));
             document.querySelector('[data-testid=drop-zone]').dispatchEvent(
                 new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));",
            vec![],
        )
        .await?;
    e2e::eventually("the drop zone highlighted", UI_TIMEOUT, || async {
        Ok((alice
            .count(r#"[data-testid="drop-zone"][data-active="true"]"#)
            .await?
            == 1)
            .then_some(()))
    })
    .await?;
    alice.screenshot("files-dropzone-desktop").await?;

    alice.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn a_conversations_image_shows_for_its_two_guests_only() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    let carol = driver.session(DESKTOP).await?;
    for (browser, nick) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        browser.enter(&server.url(), nick).await.context(nick)?;
    }
    alice.send_with_enter("/msg bob a photo for you").await?;
    alice.wait_current_room("@alice+bob").await?;
    bob.click(r#"[data-room="@alice+bob"]"#).await?;
    bob.wait_for_message("alice", "a photo for you").await?;

    let files = TempDir::new("e2e-files")?;
    let image = files.path().join("private.png");
    std::fs::write(&image, png(120, 80))?;
    alice
        .wait_for("file-input")
        .await?
        .send_keys(&image.display().to_string())
        .await
        .context("choosing the file")?;
    for (browser, who) in [(&bob, "bob"), (&alice, "alice")] {
        let width = wait_thumbnail(browser, "private.png")
            .await
            .with_context(|| format!("the thumbnail on {who}'s page"))?;
        ensure!(width == 120, "{who}'s thumbnail is {width} px wide");
        let src = browser
            .client()
            .execute(
                "return document.querySelector('[data-testid=attachment-image] img').src;",
                vec![],
            )
            .await?;
        ensure!(
            src.as_str().is_some_and(|s| s.starts_with("blob:")),
            "{who}'s thumbnail is not from the fetched file: {src}"
        );
    }
    screenshots(&bob, "files-direct-phone").await?;

    // The file's address, from alice's download link: carol, in the same
    // lobby, gets nothing there.
    let path = alice
        .client()
        .find(Locator::Css(&testid("attachment-download")))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    ensure!(
        path.starts_with("/api/files/"),
        "the link points to {path:?}"
    );
    let status = carol
        .client()
        .execute_async(
            "const [path, done] = arguments;
             fetch(path).then((r) => done(r.status), () => done(0));",
            vec![json!(path)],
        )
        .await?;
    ensure!(status == json!(404), "carol fetched the file: {status}");

    for browser in [alice, bob, carol] {
        browser.close().await?;
    }
    drop(driver);
    server.stop().await
}

/// Waits for the thumbnail of `name` to have loaded; returns its natural
/// width (0 would be a broken image).
async fn wait_thumbnail(browser: &Browser, name: &str) -> Result<u64> {
    let script = "const img = [...document.querySelectorAll('[data-testid=attachment-image] img')]
                      .find((i) => i.alt === arguments[0]);
                  return img && img.complete ? img.naturalWidth : null;";
    e2e::eventually(
        &format!("the thumbnail of {name} loaded"),
        UI_TIMEOUT,
        || async {
            // `null` until the image is there and complete; then its
            // width, which is 0 for an image that did not decode.
            let width = browser.client().execute(script, vec![json!(name)]).await?;
            Ok(width.as_u64())
        },
    )
    .await
}

async fn screenshots(browser: &Browser, name: &str) -> Result<()> {
    let light = browser.screenshot(name).await?;
    browser.prefer_dark(true).await?;
    let dark = browser.screenshot(&format!("{name}-dark")).await?;
    browser.prefer_dark(false).await?;
    println!("screenshots: {} {}", light.display(), dark.display());
    Ok(())
}

/// A `width` × `height` RGB PNG of a sunset-like gradient, encoded here (with
/// stored deflate blocks) so the test needs no image library.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // no filter
        for x in 0..width {
            let r = 255 - (y * 80 / height) as u8;
            let g = (60 + x * 120 / width + y * 40 / height) as u8;
            let b = (90 + y * 150 / height) as u8;
            raw.extend_from_slice(&[r, g, b]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[test]
fn the_test_image_is_a_png_with_the_known_checksums() {
    // The CRC of the IEND chunk is fixed by the format.
    let image = png(2, 2);
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(image.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
}
