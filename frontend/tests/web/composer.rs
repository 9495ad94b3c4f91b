//! The composer: Enter and Shift+Enter, recalling sent lines, refusing bad
//! commands and over-long messages, and reporting typing.

use frontend::actions::ChatActions;
use frontend::components::{Composer, ComposerProps};
use shared::Limits;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlButtonElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

use crate::support::{all, composer, mount_with, one, recording, settle, text, unit_recorder};

fn press(target: &Element, key: &str, shift: bool) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    // Yew listens at the root, so the event must bubble.
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

/// Types into the text area as a person does: value, then an input event.
fn type_into(area: &HtmlTextAreaElement, value: &str) {
    area.set_value(value);
    // Yew listens at the root: the event must bubble.
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    area.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn typing_a_message_is_reported_but_typing_a_command_is_not() {
    let (typing, typed) = unit_recorder();
    let actions = ChatActions {
        typing,
        ..ChatActions::default()
    };
    let (root, _app) = mount_with::<Composer>(
        &actions,
        ComposerProps {
            label: Some("bob".into()),
            ..composer()
        },
    )
    .await;
    let area: HtmlTextAreaElement = one(&root, "[data-testid=message-input]").unchecked_into();
    assert_eq!(area.placeholder(), "Message bob");
    type_into(&area, "/join rust");
    settle().await;
    assert_eq!(*typed.borrow(), 0);
    type_into(&area, "hel");
    settle().await;
    assert_eq!(*typed.borrow(), 1);
}

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_bad_commands_stay() {
    let (actions, sent) = recording(|a| &mut a.send_text);
    let (root, _app) = mount_with::<Composer>(&actions, composer()).await;
    let area: HtmlTextAreaElement = one(&root, "[data-testid=message-input]").unchecked_into();
    one(&root, "form [data-testid=send-button]");

    area.set_value("hello");
    press(&area, "Enter", false);
    settle().await;
    assert_eq!(*sent.borrow(), ["hello"]);
    assert_eq!(area.value(), "");

    // Up in the empty box recalls it.
    press(&area, "ArrowUp", false);
    settle().await;
    assert_eq!(area.value(), "hello");
    press(&area, "ArrowDown", false);
    settle().await;
    assert_eq!(area.value(), "");

    area.set_value("first line");
    press(&area, "Enter", true);
    settle().await;
    assert_eq!(sent.borrow().len(), 1, "Shift+Enter sent");

    area.set_value("/frob");
    press(&area, "Enter", false);
    settle().await;
    assert_eq!(sent.borrow().len(), 1, "an unknown command was sent");
    assert_eq!(area.value(), "/frob");
    assert!(text(&root).contains("unknown command /frob"));
}

#[wasm_bindgen_test]
async fn the_composer_counts_down_near_the_limit_and_refuses_over_it() {
    let (actions, sent) = recording(|a| &mut a.send_text);
    let (root, _app) = mount_with::<Composer>(&actions, composer()).await;
    let area: HtmlTextAreaElement = one(&root, "[data-testid=message-input]").unchecked_into();
    let button: HtmlButtonElement = one(&root, "[data-testid=send-button]").unchecked_into();
    let limit = Limits::V1.max_text_bytes;

    type_into(&area, "short");
    settle().await;
    assert!(all(&root, "[data-testid=composer-count]").is_empty());

    // Bytes, as the server counts them: "é" is two.
    type_into(&area, &"é".repeat((limit - 100) / 2));
    settle().await;
    assert_eq!(
        text(&one(&root, "[data-testid=composer-count]")),
        "100 bytes left"
    );
    assert!(!button.disabled());

    type_into(&area, &"x".repeat(limit + 3));
    settle().await;
    assert_eq!(
        text(&one(&root, "[data-testid=composer-count]")),
        "3 bytes over the limit"
    );
    assert!(button.disabled());
    press(&area, "Enter", false);
    settle().await;
    assert!(sent.borrow().is_empty(), "an over-long message was sent");
    assert_eq!(area.value().len(), limit + 3, "and the text is kept");

    type_into(&area, &"x".repeat(limit));
    settle().await;
    assert_eq!(
        text(&one(&root, "[data-testid=composer-count]")),
        "0 bytes left"
    );
    press(&area, "Enter", false);
    settle().await;
    assert_eq!(sent.borrow().len(), 1, "exactly the limit is fine");
}
