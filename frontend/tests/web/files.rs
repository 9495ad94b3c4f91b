//! Files shared in messages: thumbnails for the images the server shows
//! inline, cards with a download link for the rest, and hostile names and
//! ids kept harmless.

use std::rc::Rc;

use frontend::components::{MessageList, MessageView};
use frontend::state::Action;
use shared::{Attachment, ChatMessage, ServerMsg};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{
    HOSTILE, NOON, all, attr, chat, in_lobby, list_props, mount, one, settle, text, view,
};

fn shared_file(id: &str, name: &str, size: u64, content_type: &str) -> Rc<ChatMessage> {
    Rc::new(ChatMessage {
        attachment: Some(Attachment {
            id: id.into(),
            name: name.into(),
            size,
            content_type: content_type.into(),
        }),
        ..chat(7, "mallory", name, NOON)
    })
}

#[wasm_bindgen_test]
async fn a_shared_image_is_a_thumbnail_that_opens_full_size() {
    let (root, _app) = mount::<MessageView>(view(shared_file(
        "3f2a9c0d41b6e8f7",
        "cat.png",
        48_213,
        "image/png",
    )))
    .await;

    assert!(all(&root, "[data-testid=attachment-file]").is_empty());
    let image = one(&root, "[data-testid=attachment-image]");
    let img = one(&image, "img");
    assert_eq!(
        attr(&img, "src").as_deref(),
        Some("/api/files/3f2a9c0d41b6e8f7/inline")
    );
    assert_eq!(attr(&img, "alt").as_deref(), Some("cat.png"));
    assert_eq!(attr(&img, "loading").as_deref(), Some("lazy"));
    // The thumbnail is the link to the full size, in a new tab that cannot
    // reach back into this one.
    let open = img.parent_element().unwrap();
    assert_eq!(open.tag_name(), "A");
    assert_eq!(
        attr(&open, "href").as_deref(),
        Some("/api/files/3f2a9c0d41b6e8f7/inline")
    );
    assert_eq!(attr(&open, "target").as_deref(), Some("_blank"));
    assert_eq!(attr(&open, "rel").as_deref(), Some("noopener noreferrer"));
    // Kept small by the stylesheet (no inline styles under the CSP).
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&img)
        .unwrap()
        .unwrap();
    assert_eq!(style.get_property_value("max-height").unwrap(), "240px");
    assert!(attr(&img, "style").is_none());
    // Name, size and a download link under it.
    assert!(text(&image).contains("47.1 KB"), "{}", text(&image));
    let download = one(&image, "[data-testid=attachment-download]");
    assert_eq!(
        attr(&download, "href").as_deref(),
        Some("/api/files/3f2a9c0d41b6e8f7")
    );
    // The message's text (the file name) is not repeated as text.
    assert!(all(&root, ".msg__text").is_empty());
}

#[wasm_bindgen_test]
async fn other_files_are_a_card_with_name_size_and_a_download_link() {
    for (name, size, content_type, shown, badge) in [
        ("report.pdf", 512, "application/pdf", "512 B", "PDF"),
        ("drawing.svg", 1_536, "image/svg+xml", "1.5 KB", "SVG"),
        (
            "disk.img",
            25 * 1024 * 1024,
            "application/octet-stream",
            "25.0 MB",
            "IMG",
        ),
        ("README", 1_048_575, "text/plain", "1.0 MB", "FILE"),
    ] {
        let (root, app) =
            mount::<MessageView>(view(shared_file("f1", name, size, content_type))).await;
        // An SVG could carry script: never shown inline.
        assert!(all(&root, "img").is_empty(), "{name}");
        let card = one(&root, "[data-testid=attachment-file]");
        assert_eq!(text(&one(&card, ".file-card__name")), name);
        assert_eq!(text(&one(&card, ".file-card__size")), shown, "{name}");
        assert_eq!(text(&one(&card, ".file-card__icon")), badge, "{name}");
        let link = one(&card, "a");
        assert_eq!(attr(&link, "href").as_deref(), Some("/api/files/f1"));
        assert_eq!(attr(&link, "download").as_deref(), Some(name));
        assert!(attr(&link, "target").is_none());
        app.destroy();
        root.remove();
    }
}

#[wasm_bindgen_test]
async fn hostile_file_names_are_text_and_odd_ids_are_no_address() {
    for content_type in ["image/png", "application/pdf"] {
        let (root, app) =
            mount::<MessageView>(view(shared_file("a1", HOSTILE, 10, content_type))).await;
        assert!(text(&root).contains(HOSTILE), "{}", text(&root));
        assert!(all(&root, "b, script").is_empty(), "markup was created");
        let imgs = all(&root, "img");
        if content_type == "image/png" {
            // The one image is the thumbnail; the name is only its alt text.
            assert_eq!(imgs.len(), 1);
            assert_eq!(attr(&imgs[0], "alt").as_deref(), Some(HOSTILE));
            assert!(attr(&imgs[0], "onerror").is_none());
        } else {
            assert!(imgs.is_empty());
        }
        app.destroy();
        root.remove();
    }
    // An id that is not the server's kind would make a path elsewhere.
    let (root, _app) =
        mount::<MessageView>(view(shared_file("../../ws", "x.png", 10, "image/png"))).await;
    assert!(all(&root, "a, img").is_empty());
    assert_eq!(text(&one(&root, ".file-card__name")), "x.png");
}

#[wasm_bindgen_test]
async fn the_announcement_of_a_file_reads_as_sharing() {
    let mut state = in_lobby();
    let (root, mut app) = mount::<MessageList>(list_props(&state)).await;
    state.apply(Action::Server(ServerMsg::Message(
        (*shared_file("f2", "plan.pdf", 10, "application/pdf")).clone(),
    )));
    app.update(list_props(&state));
    settle().await;
    assert_eq!(text(&one(&root, "[aria-live]")), "mallory shared plan.pdf");
    assert_eq!(all(&root, "[data-testid=attachment-file]").len(), 1);
}
