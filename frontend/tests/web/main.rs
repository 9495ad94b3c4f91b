//! Browser tests: the views in a real DOM (headless Chromium through
//! wasm-bindgen-test), styled with the real stylesheet. State transitions are
//! tested natively in `state/tests.rs`; these check what only a DOM can show,
//! above all that people's text is rendered as text. One test binary, split
//! by area, with what the areas share in `support`.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p frontend --target wasm32-unknown-unknown`
//! The 10,000-message measurement prints its figures with `-- --nocapture`.

#![cfg(target_arch = "wasm32")]
// As everywhere in tests, a panic is a failed assertion. clippy's
// allow-unwrap-in-tests does not recognise `#[wasm_bindgen_test]` functions
// or the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wasm_bindgen_test::wasm_bindgen_test_configure;

mod accounts;
mod composer;
mod files;
mod history;
mod living;
mod messages;
mod reading;
mod rooms;
mod status;
mod support;
mod uploads;

wasm_bindgen_test_configure!(run_in_browser);
