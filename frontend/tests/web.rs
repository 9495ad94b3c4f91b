//! Browser tests: the views in a real DOM (headless Chromium through
//! wasm-bindgen-test). State transitions are tested natively in `state.rs`;
//! these check what only a DOM can show, above all that people's text is
//! rendered as text.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p frontend --target wasm32-unknown-unknown`

#![cfg(target_arch = "wasm32")]
// As everywhere in tests, a panic is a failed assertion. clippy's
// allow-unwrap-in-tests does not recognise `#[wasm_bindgen_test]` functions
// or the helpers they share.
#![allow(clippy::unwrap_used)]

use std::rc::Rc;
use std::time::Duration;

use std::cell::RefCell;

use frontend::components::{
    Composer, ComposerProps, ConnectionStatus, ConnectionStatusProps, MessageList,
    MessageListProps, MessageView, MessageViewProps, NickPrompt, NickPromptProps, OnlineList,
    OnlineListProps,
};
use frontend::state::{Action, ChatState, ConnState, Pending};
use shared::{ChatMessage, DEFAULT_ROOM, Limits, MessageKind, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    Element, HtmlFormElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent,
    KeyboardEventInit,
};
use yew::{AppHandle, BaseComponent, Callback, Renderer};

wasm_bindgen_test_configure!(run_in_browser);

const HOSTILE: &str = "<b>bold</b><script>x</script>";

/// Mounts a component in a fresh element and lets Yew's scheduler render it.
async fn mount<C: BaseComponent>(props: C::Properties) -> (Element, AppHandle<C>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = Renderer::<C>::with_root_and_props(root.clone(), props).render();
    settle().await;
    (root, handle)
}

async fn settle() {
    yew::platform::time::sleep(Duration::ZERO).await;
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|node| node.unchecked_into::<Element>())
        .collect()
}

fn one(root: &Element, selector: &str) -> Element {
    let found = all(root, selector);
    assert_eq!(found.len(), 1, "{selector} in {}", root.inner_html());
    found.into_iter().next().unwrap()
}

fn message(seq: u64, nick: &str, text: &str, kind: MessageKind) -> Rc<ChatMessage> {
    Rc::new(ChatMessage {
        room: DEFAULT_ROOM.into(),
        seq,
        ts: 1_764_028_800_000,
        nick: nick.into(),
        text: text.into(),
        kind,
    })
}

#[wasm_bindgen_test]
async fn message_text_is_shown_as_text_never_as_markup() {
    let (root, _app) = mount::<MessageView>(MessageViewProps {
        message: message(1, "mallory", HOSTILE, MessageKind::Text),
        mine: false,
        delivery: Default::default(),
    })
    .await;

    let item = one(&root, "[data-testid=message]");
    let text = item.text_content().unwrap();
    assert!(text.contains(HOSTILE), "{text}");
    assert!(text.contains("mallory"), "{text}");
    assert!(all(&root, "b").is_empty(), "a <b> element was created");
    assert!(
        all(&root, "script").is_empty(),
        "a <script> element was created"
    );
    assert_eq!(one(&root, ".msg__text").text_content().unwrap(), HOSTILE);
    assert_eq!(one(&root, ".msg__nick").text_content().unwrap(), "mallory");
}

#[wasm_bindgen_test]
async fn a_hostile_nickname_is_text_too() {
    let (root, _app) = mount::<MessageView>(MessageViewProps {
        message: message(1, "<i>eve</i>", "waves", MessageKind::Action),
        mine: false,
        delivery: Default::default(),
    })
    .await;
    assert!(all(&root, "i").is_empty());
    assert_eq!(
        one(&root, ".msg__nick").text_content().unwrap(),
        "* <i>eve</i>"
    );
    assert!(one(&root, "li").class_list().contains("msg--action"));
}

/// The message list as the app feeds it: from a state built by the reducer.
#[wasm_bindgen_test]
async fn the_message_list_shows_confirmed_and_pending_messages() {
    let mut state = ChatState::default();
    state.apply(Action::Server(ServerMsg::Welcome {
        nick: "alice".into(),
        server: "test".into(),
        limits: Limits::V1,
    }));
    state.apply(Action::Server(ServerMsg::Joined {
        room: DEFAULT_ROOM.into(),
        members: vec!["alice".into(), "bob".into()],
    }));
    state.apply(Action::Server(ServerMsg::Message(
        (*message(1, "bob", HOSTILE, MessageKind::Text)).clone(),
    )));
    state.apply(Action::Sent(Pending {
        id: "t-1".into(),
        draft: message(0, "alice", "on its way", MessageKind::Text),
        failed: None,
    }));
    let lobby = state.active().unwrap();

    let (root, _app) = mount::<MessageList>(MessageListProps {
        lines: lobby.lines.clone(),
        pending: state.pending.clone(),
        me: Some("alice".into()),
    })
    .await;

    let list = one(&root, "[data-testid=message-list]");
    let confirmed = all(&list, "[data-testid=message]");
    assert_eq!(confirmed.len(), 1);
    let text = confirmed[0].text_content().unwrap();
    assert!(text.contains("bob") && text.contains(HOSTILE), "{text}");
    assert!(all(&list, "b, script").is_empty());

    let pending = one(&list, "[data-testid=message-pending]");
    assert!(pending.text_content().unwrap().contains("on its way"));
    assert!(pending.class_list().contains("msg--mine"));
}

#[wasm_bindgen_test]
async fn the_status_names_its_state() {
    let (root, _app) = mount::<ConnectionStatus>(ConnectionStatusProps {
        conn: ConnState::Reconnecting {
            attempt: 1,
            retry_in_ms: Some(2000),
        },
    })
    .await;
    let status = one(&root, "[data-testid=connection-status]");
    assert_eq!(
        status.get_attribute("data-state").as_deref(),
        Some("reconnecting")
    );
    assert!(status.text_content().unwrap().contains("reconnecting"));
}

#[wasm_bindgen_test]
async fn the_online_list_has_one_item_per_member() {
    let (root, _app) = mount::<OnlineList>(OnlineListProps {
        members: vec!["bob".into(), "alice".into()],
        me: Some("alice".into()),
    })
    .await;
    let items = all(&root, "[data-testid=online-list] li");
    let names: Vec<String> = items.iter().filter_map(|li| li.text_content()).collect();
    assert_eq!(names, ["alice", "bob"]);
}

#[wasm_bindgen_test]
async fn the_nick_prompt_shows_the_refusal() {
    let (root, _app) = mount::<NickPrompt>(NickPromptProps {
        initial: "alice".into(),
        busy: false,
        error: Some("alice is taken".into()),
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

/// Collects what a callback is given.
fn recorder() -> (Callback<String>, Rc<RefCell<Vec<String>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    (Callback::from(move |s| sink.borrow_mut().push(s)), seen)
}

#[wasm_bindgen_test]
async fn submitting_the_nick_form_reports_what_was_typed() {
    let (onsubmit, seen) = recorder();
    let (root, _app) = mount::<NickPrompt>(NickPromptProps {
        initial: "".into(),
        busy: false,
        error: None,
        onsubmit,
    })
    .await;
    let input: HtmlInputElement = one(&root, "[data-testid=nick-input]").unchecked_into();
    input.set_value("bob");
    let form: HtmlFormElement = one(&root, "form").unchecked_into();
    form.request_submit().unwrap();
    settle().await;
    assert_eq!(*seen.borrow(), ["bob"]);
    assert!(all(&root, "[data-testid=nick-error]").is_empty());
}

fn press_enter(target: &Element, shift: bool) {
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(shift);
    // Yew listens at the root, so the event must bubble.
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_bad_commands_stay() {
    let (onsend, sent) = recorder();
    let (root, _app) = mount::<Composer>(ComposerProps {
        onsend,
        enabled: true,
        room: "lobby".into(),
        max_bytes: Limits::V1.max_text_bytes,
    })
    .await;
    let area: HtmlTextAreaElement = one(&root, "[data-testid=message-input]").unchecked_into();
    one(&root, "form [data-testid=send-button]");

    area.set_value("hello");
    press_enter(&area, false);
    settle().await;
    assert_eq!(*sent.borrow(), ["hello"]);
    assert_eq!(area.value(), "");

    area.set_value("first line");
    press_enter(&area, true);
    settle().await;
    assert_eq!(sent.borrow().len(), 1, "Shift+Enter sent");

    area.set_value("/frob");
    press_enter(&area, false);
    settle().await;
    assert_eq!(sent.borrow().len(), 1, "an unknown command was sent");
    assert_eq!(area.value(), "/frob");
    assert!(
        root.text_content()
            .unwrap()
            .contains("unknown command /frob")
    );
}
