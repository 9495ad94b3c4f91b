//! Starts the web client: mounts [`frontend::App`] on the page's body.

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<frontend::App>::new().render();
}

// The workspace builds every member for the host too; there is no page there.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the Hubbub web client runs in a browser: build it with `trunk build` in frontend/");
}
