//! The connection pill (its state, the countdown, "reconnect now") and the
//! nickname form shown before the chat.

use std::time::Duration;

use frontend::components::{ConnectionStatus, ConnectionStatusProps, NickPrompt, NickPromptProps};
use frontend::state::{AuthMode, ConnState, Entry};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlButtonElement, HtmlFormElement, HtmlInputElement};
use yew::Callback;

use crate::support::{all, eventually, mount, one, recorder, settle, text, unit_recorder};

#[wasm_bindgen_test]
async fn the_status_names_its_state_and_counts_down() {
    let soon = js_sys::Date::now() as i64 + 1_900;
    let (root, _app) = mount::<ConnectionStatus>(ConnectionStatusProps {
        conn: ConnState::Reconnecting {
            attempt: 1,
            retry_at: Some(soon),
        },
        onretry: Callback::noop(),
    })
    .await;
    let status = one(&root, "[data-testid=connection-status]");
    assert_eq!(
        status.get_attribute("data-state").as_deref(),
        Some("reconnecting")
    );
    assert!(
        text(&status).contains("reconnecting in 2 s"),
        "{}",
        text(&status)
    );
    let width = status.get_bounding_client_rect().width();
    eventually("the countdown to tick", Duration::from_secs(5), || {
        text(&status).contains("reconnecting in 1 s")
    })
    .await;
    eventually("the countdown to end", Duration::from_secs(5), || {
        text(&status).contains("reconnecting…")
    })
    .await;
    assert_eq!(
        status.get_bounding_client_rect().width(),
        width,
        "the pill keeps its width"
    );
    // Screen readers get the state, not a tick a second.
    assert_eq!(
        text(&one(&status, "[role=status]")),
        "connection lost, reconnecting"
    );
}

#[wasm_bindgen_test]
async fn the_status_offers_to_reconnect_now() {
    let (onretry, pressed) = unit_recorder();
    let (root, _app) = mount::<ConnectionStatus>(ConnectionStatusProps {
        conn: ConnState::Reconnecting {
            attempt: 3,
            retry_at: Some(js_sys::Date::now() as i64 + 20_000),
        },
        onretry,
    })
    .await;
    one(&root, "[data-testid=connection-status] button")
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*pressed.borrow(), 1);
}

#[wasm_bindgen_test]
async fn the_nick_prompt_shows_the_refusal() {
    let (root, _app) = mount::<NickPrompt>(NickPromptProps {
        initial: "alice".into(),
        busy: false,
        error: Some("alice is taken".into()),
        note: None,
        mode: AuthMode::Guest,
        onmode: Callback::noop(),
        onsubmit: Callback::noop(),
    })
    .await;
    let input: HtmlInputElement = one(&root, "[data-testid=nick-input]").unchecked_into();
    assert_eq!(input.value(), "alice");
    assert_eq!(
        one(&root, "[data-testid=nick-error]")
            .text_content()
            .as_deref(),
        Some("alice is taken")
    );
    one(&root, "form [data-testid=nick-submit]");
}

#[wasm_bindgen_test]
async fn submitting_the_nick_form_reports_what_was_typed() {
    let (onsubmit, seen) = recorder();
    let (root, _app) = mount::<NickPrompt>(NickPromptProps {
        initial: "".into(),
        busy: false,
        error: None,
        note: None,
        mode: AuthMode::Guest,
        onmode: Callback::noop(),
        onsubmit,
    })
    .await;
    let input: HtmlInputElement = one(&root, "[data-testid=nick-input]").unchecked_into();
    input.set_value("bob");
    let form: HtmlFormElement = one(&root, "form").unchecked_into();
    form.request_submit().unwrap();
    settle().await;
    assert_eq!(
        *seen.borrow(),
        [Entry {
            mode: AuthMode::Guest,
            nick: "bob".into(),
            ..Entry::default()
        }]
    );
    assert!(
        all(&root, "[data-testid=password-input]").is_empty(),
        "a guest needs no password"
    );
    assert!(all(&root, "[data-testid=nick-error]").is_empty());
}
