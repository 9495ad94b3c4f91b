//! Sharing files: the upload rows with their progress, cancelling and the
//! server's refusal, dropping files on the conversation, pasting images
//! into the composer, and the attach button.

use std::cell::RefCell;
use std::rc::Rc;

use frontend::actions::ChatActions;
use frontend::components::{
    AttachButton, AttachButtonProps, Composer, DropZone, DropZoneProps, UploadList, UploadListProps,
};
use frontend::state::{Action, ChatState, UploadStatus};
use frontend::upload::Chosen;
use shared::DEFAULT_ROOM;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::{AppHandle, Callback, Html};

use crate::support::{
    HOSTILE, NOON, Provided, all, attr, composer, in_lobby, mount, mount_with, one, provided,
    recording, settle, text,
};

fn uploads_of(state: &ChatState) -> Vec<frontend::state::Upload> {
    state.uploads_in(DEFAULT_ROOM).cloned().collect()
}

#[wasm_bindgen_test]
async fn an_upload_row_shows_progress_to_100_percent_and_can_be_cancelled() {
    let mut state = in_lobby();
    state.apply(Action::UploadStarted {
        id: 1,
        room: DEFAULT_ROOM.into(),
        name: "cat.png".into(),
        size: 48_213,
    });
    let (actions, cancelled) = recording(|a| &mut a.cancel_upload);
    let props = |state: &ChatState| {
        provided::<UploadList>(
            &actions,
            UploadListProps {
                uploads: uploads_of(state),
            },
        )
    };
    let (root, mut app) = mount::<Provided>(props(&state)).await;
    let row = one(&root, "[data-testid=upload]");
    assert_eq!(attr(&row, "data-status").as_deref(), Some("uploading"));
    assert!(text(&row).contains("cat.png") && text(&row).contains("47.1 KB"));
    assert_eq!(text(&one(&root, "[data-testid=upload-percent]")), "0%");

    // Half the request (the file and its multipart framing) is a little
    // more than half the file.
    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 25_100,
        total: 50_000,
    });
    app.update(props(&state));
    settle().await;
    let bar = one(&root, "progress");
    assert_eq!(attr(&bar, "max").as_deref(), Some("100"));
    assert_eq!(attr(&bar, "value").as_deref(), Some("50"));
    assert_eq!(text(&one(&root, "[data-testid=upload-percent]")), "50%");

    one(&root, "[data-testid=upload-cancel]")
        .unchecked_into::<HtmlElement>()
        .click();
    assert_eq!(*cancelled.borrow(), [1]);

    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 50_000,
        total: 50_000,
    });
    state.apply(Action::UploadDone { id: 1, at: NOON });
    app.update(props(&state));
    settle().await;
    let row = one(&root, "[data-testid=upload]");
    assert_eq!(attr(&row, "data-status").as_deref(), Some("done"));
    assert_eq!(text(&one(&root, "[data-testid=upload-percent]")), "100%");
    assert_eq!(
        attr(&one(&root, "progress"), "value").as_deref(),
        Some("100")
    );
    assert!(all(&root, "[data-testid=upload-cancel]").is_empty());

    // A second upload, cancelled: it says so and offers nothing to cancel.
    state.apply(Action::UploadStarted {
        id: 2,
        room: DEFAULT_ROOM.into(),
        name: "big.iso".into(),
        size: 1 << 30,
    });
    state.apply(Action::UploadCancelled { id: 2, at: NOON });
    app.update(props(&state));
    settle().await;
    let rows = all(&root, "[data-testid=upload]");
    assert_eq!(rows.len(), 2);
    assert_eq!(attr(&rows[1], "data-status").as_deref(), Some("cancelled"));
    assert!(text(&rows[1]).contains("cancelled"));
    assert!(all(&root, "[data-testid=upload-cancel]").is_empty());

    // Rows that ended go; nothing is left behind.
    state.apply(Action::ExpireUploads(NOON + 60_000));
    app.update(props(&state));
    settle().await;
    assert!(all(&root, "[data-testid=uploads]").is_empty());
}

#[wasm_bindgen_test]
async fn a_refused_upload_shows_the_servers_sentence_as_text() {
    let mut state = in_lobby();
    state.apply(Action::UploadStarted {
        id: 9,
        room: DEFAULT_ROOM.into(),
        name: HOSTILE.into(),
        size: 30 << 20,
    });
    let sentence = "The file is larger than the server's limit of 25 MiB.";
    state.apply(Action::UploadFailed {
        id: 9,
        reason: sentence.into(),
    });
    assert!(matches!(state.uploads[0].status, UploadStatus::Failed(_)));
    let (actions, dismissed) = recording(|a| &mut a.dismiss_upload);
    let (root, _app) = mount_with::<UploadList>(
        &actions,
        UploadListProps {
            uploads: uploads_of(&state),
        },
    )
    .await;
    let reason = one(&root, "[data-testid=upload-reason]");
    assert_eq!(text(&reason), sentence);
    assert_eq!(attr(&reason, "role").as_deref(), Some("alert"));
    assert!(all(&root, "progress").is_empty());
    assert_eq!(text(&one(&root, ".upload__name")), HOSTILE);
    assert!(all(&root, "b, script, img").is_empty());
    one(&root, "[data-testid=upload-dismiss]")
        .unchecked_into::<HtmlElement>()
        .click();
    assert_eq!(*dismissed.borrow(), [9]);
}

fn file(name: &str, content_type: &str, body: &str) -> web_sys::File {
    let parts = js_sys::Array::of1(&body.into());
    let options = web_sys::FilePropertyBag::new();
    options.set_type(content_type);
    web_sys::File::new_with_str_sequence_and_options(&parts, name, &options).unwrap()
}

fn transfer_of(files: &[web_sys::File]) -> web_sys::DataTransfer {
    let dt = web_sys::DataTransfer::new().unwrap();
    for f in files {
        dt.items().add_with_file(f).unwrap();
    }
    dt
}

fn drag(target: &Element, kind: &str, dt: &web_sys::DataTransfer) -> bool {
    let init = web_sys::DragEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_data_transfer(Some(dt));
    let event = web_sys::DragEvent::new_with_event_init_dict(kind, &init).unwrap();
    target.dispatch_event(&event).unwrap()
}

/// The chat's callbacks with `share` recording each file shared as
/// `name (size)`.
fn share_recorder() -> (ChatActions, Rc<RefCell<Vec<String>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&seen);
    let share = Callback::from(move |files: Vec<Chosen>| {
        record.borrow_mut().extend(
            files
                .into_iter()
                .map(|c| format!("{} ({})", c.name, c.file.size())),
        );
    });
    let actions = ChatActions {
        share,
        ..ChatActions::default()
    };
    (actions, seen)
}

/// The lobby's drop zone around `children`, with what it shares recorded.
async fn lobby_drop_zone(
    enabled: bool,
    children: Html,
) -> (Element, AppHandle<Provided>, Rc<RefCell<Vec<String>>>) {
    let (actions, dropped) = share_recorder();
    let props = DropZoneProps {
        target: "#lobby".into(),
        enabled,
        children,
    };
    let (root, app) = mount_with::<DropZone>(&actions, props).await;
    (root, app, dropped)
}

#[wasm_bindgen_test]
async fn dragging_files_over_the_conversation_highlights_it_and_dropping_shares_them() {
    let (root, _app, dropped) =
        lobby_drop_zone(true, yew::html! { <p class="inside">{ "messages" }</p> }).await;
    let zone = one(&root, "[data-testid=drop-zone]");
    let inside = one(&root, ".inside");
    let files = transfer_of(&[
        file("cat.png", "image/png", "png!"),
        file("notes.txt", "text/plain", "hello"),
    ]);
    let active = |zone: &Element| attr(zone, "data-active").unwrap();
    assert_eq!(active(&zone), "false");

    // Into the zone, then over a child: still one highlight.
    drag(&zone, "dragenter", &files);
    settle().await;
    assert_eq!(active(&zone), "true");
    assert!(zone.class_list().contains("dropzone--active"));
    assert!(text(&one(&root, ".dropzone__overlay")).contains("#lobby"));
    drag(&inside, "dragenter", &files);
    drag(&zone, "dragleave", &files);
    settle().await;
    assert_eq!(active(&zone), "true", "moving onto a child is not leaving");
    // Dragging over must be allowed (cancelled), or the drop never comes.
    assert!(!drag(&inside, "dragover", &files));
    drag(&inside, "dragleave", &files);
    settle().await;
    assert_eq!(active(&zone), "false");
    assert!(all(&root, ".dropzone__overlay").is_empty());

    drag(&zone, "dragenter", &files);
    let handled = !drag(&inside, "drop", &files);
    settle().await;
    assert!(handled, "the browser must not open the file");
    assert_eq!(active(&zone), "false");
    assert_eq!(*dropped.borrow(), ["cat.png (4)", "notes.txt (5)"]);

    // Text dragged from the page is not a file: no highlight, no share.
    let words = web_sys::DataTransfer::new().unwrap();
    words.set_data("text/plain", "just words").unwrap();
    drag(&zone, "dragenter", &words);
    drag(&zone, "drop", &words);
    settle().await;
    assert_eq!(active(&zone), "false");
    assert_eq!(dropped.borrow().len(), 2);
}

#[wasm_bindgen_test]
async fn nothing_is_shared_by_dropping_before_there_is_a_nickname() {
    let (root, _app, dropped) = lobby_drop_zone(false, yew::html! {}).await;
    let zone = one(&root, "[data-testid=drop-zone]");
    let files = transfer_of(&[file("cat.png", "image/png", "png!")]);
    drag(&zone, "dragenter", &files);
    drag(&zone, "drop", &files);
    settle().await;
    assert_eq!(attr(&zone, "data-active").as_deref(), Some("false"));
    assert!(dropped.borrow().is_empty());
}

fn paste(target: &Element, dt: &web_sys::DataTransfer) -> bool {
    let init = web_sys::ClipboardEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_clipboard_data(Some(dt));
    let event = web_sys::ClipboardEvent::new_with_event_init_dict("paste", &init).unwrap();
    target.dispatch_event(&event).unwrap()
}

#[wasm_bindgen_test]
async fn pasting_an_image_into_the_composer_shares_it() {
    let (actions, pasted) = share_recorder();
    let (root, _app) = mount_with::<Composer>(&actions, composer()).await;
    let area = one(&root, "textarea");

    // A screenshot: the browser calls it image.png, so it gets a real name.
    let screenshot = transfer_of(&[file("image.png", "image/png", "pixels")]);
    assert!(!paste(&area, &screenshot), "the paste is taken over");
    {
        let names = pasted.borrow();
        assert_eq!(names.len(), 1);
        assert!(
            names[0].starts_with("pasted-image-") && names[0].ends_with(".png (6)"),
            "{names:?}"
        );
    }
    // A copied file keeps its name.
    paste(
        &area,
        &transfer_of(&[file("diagram.webp", "image/webp", "w")]),
    );
    assert_eq!(pasted.borrow()[1], "diagram.webp (1)");

    // Spreadsheet cells come as text with a picture: the text is meant.
    let cells = transfer_of(&[file("image.png", "image/png", "pixels")]);
    cells.set_data("text/plain", "a\tb").unwrap();
    assert!(paste(&area, &cells), "left to the text area");
    let words = web_sys::DataTransfer::new().unwrap();
    words.set_data("text/plain", "hello").unwrap();
    assert!(paste(&area, &words));
    assert_eq!(pasted.borrow().len(), 2);
}

#[wasm_bindgen_test]
async fn the_attach_button_reports_the_chosen_files() {
    let (actions, chosen) = share_recorder();
    let (root, _app) =
        mount_with::<AttachButton>(&actions, AttachButtonProps { disabled: false }).await;
    let input: HtmlInputElement = one(&root, "input[type=file]").unchecked_into();
    assert!(input.multiple());
    // The input is hidden to the eye only: the label is the button, and the
    // input keeps the keyboard focus and the accessible name.
    assert_eq!(attr(&input, "aria-label").as_deref(), Some("Attach files"));
    assert_eq!(input.parent_element().unwrap().tag_name(), "LABEL");
    let picked = transfer_of(&[
        file("a.pdf", "application/pdf", "%PDF"),
        file("b.png", "image/png", "png"),
    ]);
    input.set_files(Some(&picked.files().unwrap()));
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap())
        .unwrap();
    assert_eq!(*chosen.borrow(), ["a.pdf (4)", "b.png (3)"]);
    // Emptied, so that the same file can be chosen again.
    assert_eq!(input.files().unwrap().length(), 0);
}
