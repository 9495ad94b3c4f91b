//! Browser tests: the views in a real DOM (headless Chromium through
//! wasm-bindgen-test), styled with the real stylesheet. State transitions are
//! tested natively in `state.rs`; these check what only a DOM can show, above
//! all that people's text is rendered as text.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p frontend --target wasm32-unknown-unknown`
//! The 10,000-message measurement prints its figures with `-- --nocapture`.

#![cfg(target_arch = "wasm32")]
// As everywhere in tests, a panic is a failed assertion. clippy's
// allow-unwrap-in-tests does not recognise `#[wasm_bindgen_test]` functions
// or the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frontend::components::{
    AttachButton, AttachButtonProps, Composer, ComposerProps, ConnectionStatus,
    ConnectionStatusProps, DropZone, DropZoneProps, MessageList, MessageListProps, MessageView,
    MessageViewProps, NickPrompt, NickPromptProps, OnlineList, OnlineListProps, PAGE, RoomList,
    RoomListProps, RoomTab, TypingLine, TypingLineProps, UploadList, UploadListProps, WINDOW,
};
use frontend::state::{Action, ChatState, ConnState, Delivery, Pending, UploadStatus};
use frontend::upload::Chosen;
use shared::{Attachment, ChatMessage, DEFAULT_ROOM, Limits, MessageKind, RoomInfo, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    Element, HtmlButtonElement, HtmlElement, HtmlFormElement, HtmlInputElement,
    HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit,
};
use yew::{AppHandle, BaseComponent, Callback, Reducible, Renderer};

wasm_bindgen_test_configure!(run_in_browser);

const HOSTILE: &str = "<b>bold</b><script>x</script><img src=x onerror=alert(1)>";
/// 2025-11-25 12:00 UTC.
const NOON: i64 = 1_764_072_000_000;
const DAY_MS: i64 = 86_400_000;

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// The app's real stylesheet, once per page, so layout (scrolling, the
/// phone width) is what people get.
fn styles() {
    let document = document();
    if document.get_element_by_id("hubbub-styles").is_some() {
        return;
    }
    let style = document.create_element("style").unwrap();
    style.set_id("hubbub-styles");
    style.set_text_content(Some(include_str!("../styles.css")));
    document.head().unwrap().append_child(&style).unwrap();
}

/// Mounts a component in a fresh element `height` px tall and lets Yew's
/// scheduler render it.
async fn mount_sized<C: BaseComponent>(
    props: C::Properties,
    height: u32,
) -> (Element, AppHandle<C>) {
    styles();
    let document = document();
    let root = document.create_element("div").unwrap();
    root.set_attribute(
        "style",
        &format!("display:flex;flex-direction:column;height:{height}px;width:600px"),
    )
    .unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = Renderer::<C>::with_root_and_props(root.clone(), props).render();
    settle().await;
    (root, handle)
}

async fn mount<C: BaseComponent>(props: C::Properties) -> (Element, AppHandle<C>) {
    mount_sized::<C>(props, 600).await
}

/// Lets Yew finish rendering, effects included (its scheduler may yield to
/// the browser halfway through a long render), then lets the browser
/// deliver the events that follow (scroll).
async fn settle() {
    yew::scheduler::flush().await;
    yew::platform::time::sleep(Duration::ZERO).await;
}

/// Polls `check` every 20 ms until it holds, for at most `limit`.
async fn eventually(what: &str, limit: Duration, check: impl Fn() -> bool) {
    let start = now();
    while !check() {
        assert!(
            now() - start < limit.as_millis() as f64,
            "timed out waiting for {what}"
        );
        yew::platform::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
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
    assert_eq!(found.len(), 1, "{selector} in {:?}", root.text_content());
    found.into_iter().next().unwrap()
}

fn text(el: &Element) -> String {
    el.text_content().unwrap_or_default()
}

fn chat(seq: u64, nick: &str, text: &str, ts: i64) -> ChatMessage {
    ChatMessage {
        room: DEFAULT_ROOM.into(),
        seq,
        ts,
        nick: nick.into(),
        text: text.into(),
        kind: MessageKind::Text,
        attachment: None,
    }
}

fn message(seq: u64, nick: &str, text: &str, kind: MessageKind) -> Rc<ChatMessage> {
    Rc::new(ChatMessage {
        kind,
        ..chat(seq, nick, text, NOON)
    })
}

fn view(message: Rc<ChatMessage>) -> MessageViewProps {
    MessageViewProps {
        message,
        mine: false,
        continued: false,
        delivery: None,
        onretry: Callback::noop(),
        ondismiss: Callback::noop(),
    }
}

/// A state as after joining the lobby as alice, with bob there.
fn in_lobby() -> ChatState {
    let mut state = ChatState::default();
    state.apply(Action::Server(ServerMsg::Welcome {
        nick: "alice".into(),
        server: "test".into(),
        limits: Limits::V1,
    }));
    state.apply(Action::Server(ServerMsg::Joined {
        room: DEFAULT_ROOM.into(),
        members: vec!["alice".into(), "bob".into()],
        head: 0,
    }));
    state
}

fn list_props(state: &ChatState) -> MessageListProps {
    MessageListProps {
        lines: state.active().unwrap().lines.clone(),
        pending: state.pending.clone(),
        me: state.me.clone().map(Into::into),
        onretry: Callback::noop(),
        ondismiss: Callback::noop(),
        has_older: state.active().unwrap().has_older,
        loading: state.active().unwrap().loading_older,
        onloadolder: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn message_text_is_shown_as_text_never_as_markup() {
    let (root, _app) =
        mount::<MessageView>(view(message(1, "mallory", HOSTILE, MessageKind::Text))).await;

    let item = one(&root, "[data-testid=message]");
    let shown = text(&item);
    assert!(shown.contains(HOSTILE), "{shown}");
    assert!(shown.contains("mallory"), "{shown}");
    assert!(
        all(&root, "b, script, img").is_empty(),
        "markup was created"
    );
    assert_eq!(text(&one(&root, ".msg__text")), HOSTILE);
    assert_eq!(text(&one(&root, ".msg__nick")), "mallory");
    assert_eq!(
        item.get_attribute("data-author").as_deref(),
        Some("mallory")
    );
}

#[wasm_bindgen_test]
async fn a_hostile_nickname_is_text_too() {
    let (root, _app) =
        mount::<MessageView>(view(message(1, "<i>eve</i>", "waves", MessageKind::Action))).await;
    assert!(all(&root, "i").is_empty());
    assert_eq!(text(&one(&root, ".msg__nick")), "<i>eve</i>");
    assert!(text(&one(&root, "li")).contains("* <i>eve</i> waves"));
    assert!(one(&root, "li").class_list().contains("msg--action"));
}

#[wasm_bindgen_test]
async fn only_http_https_and_mailto_become_links() {
    let body = "see https://example.org/a?b=1, mail mailto:bob@example.org or \
                javascript:alert(1) and data:text/html,x <a href=\"https://evil\">x</a>";
    let (root, _app) = mount::<MessageView>(view(message(1, "bob", body, MessageKind::Text))).await;
    let links = all(&root, "a");
    let hrefs: Vec<String> = links
        .iter()
        .map(|a| a.get_attribute("href").unwrap())
        .collect();
    assert_eq!(
        hrefs,
        [
            "https://example.org/a?b=1",
            "mailto:bob@example.org",
            "https://evil"
        ]
    );
    for link in &links {
        assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
        assert_eq!(
            link.get_attribute("rel").as_deref(),
            Some("noopener noreferrer")
        );
        assert_eq!(Some(text(link)), link.get_attribute("href"));
    }
    // Everything, the would-be anchor included, reads exactly as typed.
    assert_eq!(text(&one(&root, ".msg__text")), body);
}

/// The message list as the app feeds it: from a state built by the reducer.
#[wasm_bindgen_test]
async fn the_message_list_shows_confirmed_and_pending_messages() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Message(chat(
        1, "bob", HOSTILE, NOON,
    ))));
    state.apply(Action::Queued(Pending::queued(
        "t-1".into(),
        chat(0, "alice", "on its way", NOON + 1000),
    )));

    let (root, _app) = mount::<MessageList>(list_props(&state)).await;

    let list = one(&root, "[data-testid=message-list]");
    let confirmed = all(&list, "[data-testid=message]");
    assert_eq!(confirmed.len(), 1);
    let shown = text(&confirmed[0]);
    assert!(shown.contains("bob") && shown.contains(HOSTILE), "{shown}");
    assert!(all(&list, "b, script, img").is_empty());

    let pending = one(&list, "[data-testid=message-pending]");
    assert!(text(&pending).contains("on its way"));
    assert!(text(&pending).contains("waiting for the connection"));
    assert!(pending.class_list().contains("msg--mine"));
}

#[wasm_bindgen_test]
async fn messages_group_by_author_and_days_are_separated() {
    let mut state = in_lobby();
    let lines = [
        chat(1, "bob", "first", NOON - DAY_MS),
        chat(2, "bob", "same group", NOON - DAY_MS + 60_000),
        chat(3, "bob", "next day", NOON),
        chat(4, "bob", "grouped", NOON + 1000),
        chat(5, "carol", "new author", NOON + 2000),
        chat(6, "carol", "after a notice", NOON + 3000),
    ];
    for (i, line) in lines.into_iter().enumerate() {
        if i == 5 {
            state.apply(Action::Info("a notice".into()));
        }
        state.apply(Action::Server(ServerMsg::Message(line)));
    }
    let (root, _app) = mount::<MessageList>(list_props(&state)).await;

    let messages = all(&root, "[data-testid=message]");
    let continued: Vec<bool> = messages
        .iter()
        .map(|m| m.class_list().contains("msg--continued"))
        .collect();
    assert_eq!(continued, [false, true, false, true, false, false]);
    // A continued message shows no author or avatar, yet still names its
    // author for screen readers and tests.
    assert!(all(&messages[1], ".msg__nick, .avatar").is_empty());
    assert!(text(&messages[1]).contains("bob: "));
    assert_eq!(
        messages[1].get_attribute("data-author").as_deref(),
        Some("bob")
    );

    let days = all(&root, "[data-testid=day-separator]");
    assert_eq!(days.len(), 2, "one separator per day");
    // Separators come right before the first message of each day.
    let order: Vec<String> = all(&root, "[data-testid=message-list] > li[data-testid]")
        .iter()
        .map(|li| li.get_attribute("data-testid").unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        [
            "day-separator",
            "message",
            "message",
            "day-separator",
            "message",
            "message",
            "message",
            "notice",
            "message"
        ]
    );
    // Notices are marked as such (and styled quieter than chat).
    assert_eq!(text(&one(&root, "[data-testid=notice]")), "a notice");
}

#[wasm_bindgen_test]
async fn a_failed_message_offers_retry_and_dismiss() {
    let mut state = in_lobby();
    state.apply(Action::Queued(Pending::queued(
        "c1".into(),
        chat(0, "alice", "lost", NOON),
    )));
    state.apply(Action::Transmitted("c1".into()));
    // Refused by the server (a message on the wire when the connection
    // drops is simply sent again).
    state.apply(Action::SendFailed {
        id: "c1".into(),
        reason: "refused".into(),
    });
    assert!(matches!(state.pending[0].delivery, Delivery::Failed(_)));
    let (onretry, retried) = recorder();
    let (ondismiss, dismissed) = recorder();
    let (root, _app) = mount::<MessageList>(MessageListProps {
        onretry,
        ondismiss,
        ..list_props(&state)
    })
    .await;
    let pending = one(&root, "[data-testid=message-pending]");
    assert!(text(&pending).contains("Not sent"));
    one(&pending, "[data-testid=retry-message]")
        .unchecked_into::<HtmlElement>()
        .click();
    one(&pending, "[data-testid=dismiss-message]")
        .unchecked_into::<HtmlElement>()
        .click();
    settle().await;
    assert_eq!(*retried.borrow(), ["c1"]);
    assert_eq!(*dismissed.borrow(), ["c1"]);
}

fn bulk_state(count: u64) -> ChatState {
    let mut state = in_lobby();
    for seq in 1..=count {
        let nick = if seq % 3 == 0 { "carol" } else { "bob" };
        state.apply(Action::Server(ServerMsg::Message(chat(
            seq,
            nick,
            &format!("message number {seq}, with a little text to wrap https://example.org/{seq}"),
            NOON - 2 * DAY_MS + seq as i64 * 20_000,
        ))));
    }
    state
}

/// Only the newest lines are in the DOM, whatever the room holds; the
/// reader still reaches older ones by scrolling up, and what they were
/// looking at stays in place.
#[wasm_bindgen_test]
async fn a_long_history_renders_a_window_and_grows_at_the_top() {
    let state = bulk_state(2_000);
    let (root, _app) = mount::<MessageList>(list_props(&state)).await;
    let list = one(&root, "[data-testid=message-list]");
    let messages = || all(&root, "[data-testid=message]");
    assert_eq!(messages().len(), WINDOW);
    assert!(text(&messages().pop().unwrap()).contains("message number 2000"));
    let oldest_shown = messages().remove(0);
    assert!(text(&oldest_shown).contains("message number 1851"));

    // Reaching the top adds a page of older lines above.
    list.set_scroll_top(0);
    eventually("older lines", Duration::from_secs(5), || {
        messages().len() == WINDOW + PAGE
    })
    .await;
    assert!(text(&messages().remove(0)).contains("message number 1701"));
    // The line that was at the top is still in view, not pushed away.
    let (top, bottom) = {
        let rect = list.get_bounding_client_rect();
        (rect.top(), rect.bottom())
    };
    let anchor = oldest_shown.get_bounding_client_rect().top();
    assert!(
        anchor >= top - 1.0 && anchor < bottom,
        "the message read before is at {anchor}, the list spans {top}..{bottom}"
    );
    // A keyboard user gets the same through a button.
    one(&root, ".messages__earlier button");
}

/// Appending one message with 10,000 present: the reducer's copy of the
/// state, the props, Yew's diff and render, and the browser's layout (the
/// autoscroll reads the list's height). A measurement, printed, not a
/// pass/fail bound.
#[wasm_bindgen_test]
async fn measure_appending_one_message_to_ten_thousand() {
    const PRESENT: u64 = 10_000;
    let mut state = Rc::new(bulk_state(PRESENT));
    assert_eq!(
        state.active().unwrap().messages().count(),
        PRESENT as usize,
        "all 10,000 are present"
    );
    let (root, mut app) = mount_sized::<MessageList>(list_props(&state), 700).await;
    let list = one(&root, "[data-testid=message-list]");

    let mut times = Vec::new();
    for n in 1..=40u64 {
        let seq = PRESENT + n;
        let next = chat(seq, "bob", &format!("appended {seq}"), NOON + seq as i64);
        let appended = format!("appended {seq}");
        let shown = || {
            all(&list, "[data-testid=message]")
                .pop()
                .is_some_and(|last| text(&last).contains(&appended))
        };
        let start = now();
        state = state.reduce(Action::Server(ServerMsg::Message(next)));
        app.update(list_props(&state));
        // Run Yew's scheduler to the end (no timer in between, which the
        // browser may clamp or align to frames).
        yew::scheduler::flush().await;
        assert!(shown(), "the appended message is on the page");
        // Layout, as the browser must do it before the next paint.
        let _ = list.scroll_height();
        times.push(now() - start);
    }
    assert!(state.active().unwrap().messages().count() > PRESENT as usize);
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    let max = times[times.len() - 1];
    console_log!(
        "append one message with {PRESENT} present: median {median:.1} ms, p90 {p90:.1} ms, \
         max {max:.1} ms over {} appends ({} rows in the DOM)",
        times.len(),
        all(&list, "li").len()
    );
}

#[wasm_bindgen_test]
async fn jump_to_latest_counts_what_arrived_while_reading_history() {
    let mut state = Rc::new(bulk_state(300));
    let (root, mut app) = mount_sized::<MessageList>(list_props(&state), 400).await;
    let list = one(&root, "[data-testid=message-list]");
    let at_bottom =
        |list: &Element| list.scroll_height() - list.scroll_top() - list.client_height() < 4;
    assert!(
        at_bottom(&list),
        "starts at the newest: height {} top {} client {}",
        list.scroll_height(),
        list.scroll_top(),
        list.client_height()
    );
    assert!(all(&root, "[data-testid=jump-to-latest]").is_empty());

    // New messages while following: still at the bottom.
    state = state.reduce(Action::Server(ServerMsg::Message(chat(
        301, "bob", "followed", NOON,
    ))));
    app.update(list_props(&state));
    settle().await;
    assert!(at_bottom(&list));

    // Scroll up a little: the list stays put and offers a way back.
    list.set_scroll_top(list.scroll_top() - 600);
    eventually("the jump button", Duration::from_secs(5), || {
        !all(&root, "[data-testid=jump-to-latest]").is_empty()
    })
    .await;
    let reading = list.scroll_top();
    for seq in 302..=304 {
        state = state.reduce(Action::Server(ServerMsg::Message(chat(
            seq,
            "bob",
            "while away",
            NOON,
        ))));
    }
    app.update(list_props(&state));
    settle().await;
    assert_eq!(list.scroll_top(), reading, "no autoscroll while reading");
    let jump = one(&root, "[data-testid=jump-to-latest]");
    assert!(
        text(&jump).contains("Jump to latest (3 new)"),
        "{}",
        text(&jump)
    );

    jump.unchecked_into::<HtmlButtonElement>().click();
    eventually("the jump button to go", Duration::from_secs(5), || {
        all(&root, "[data-testid=jump-to-latest]").is_empty()
    })
    .await;
    assert!(at_bottom(&list));
}

#[wasm_bindgen_test]
async fn new_messages_from_others_are_announced() {
    let mut state = Rc::new(in_lobby());
    let (root, mut app) = mount::<MessageList>(list_props(&state)).await;
    let live = one(&root, "[aria-live=polite]");
    assert_eq!(text(&live), "");
    state = state.reduce(Action::Server(ServerMsg::Message(chat(
        1,
        "bob",
        "hello there",
        NOON,
    ))));
    app.update(list_props(&state));
    settle().await;
    assert_eq!(text(&live), "bob: hello there");
}

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
async fn the_online_list_has_one_item_per_member() {
    let (root, _app) = mount::<OnlineList>(OnlineListProps {
        members: vec!["bob".into(), "alice".into()],
        me: Some("alice".into()),
    })
    .await;
    let items = all(&root, "[data-testid=online-list] li");
    let names: Vec<String> = items.iter().map(text).collect();
    assert_eq!(names, ["alice", "bob"]);
}

#[wasm_bindgen_test]
async fn the_room_list_marks_the_room_on_screen_and_unread_ones() {
    let (onselect, selected) = recorder();
    let (root, _app) = mount::<RoomList>(RoomListProps {
        rooms: vec![RoomTab::room("lobby", 0), RoomTab::room("rust", 4)],
        active: "lobby".into(),
        onselect,
        onjoin: Callback::noop(),
        onbrowse: Callback::noop(),
        directory: None,
    })
    .await;
    let buttons = all(&root, "[data-testid=room-list] button");
    assert_eq!(buttons.len(), 2);
    assert_eq!(
        buttons[0].get_attribute("aria-current").as_deref(),
        Some("true")
    );
    assert_eq!(buttons[1].get_attribute("aria-current"), None);
    assert_eq!(
        buttons[1].get_attribute("aria-label").as_deref(),
        Some("#rust, 4 unread")
    );
    buttons[1]
        .clone()
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*selected.borrow(), ["rust"]);
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

fn unit_recorder() -> (Callback<()>, Rc<RefCell<u32>>) {
    let seen = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&seen);
    (Callback::from(move |()| *sink.borrow_mut() += 1), seen)
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

fn composer(onsend: Callback<String>) -> ComposerProps {
    ComposerProps {
        onsend,
        enabled: true,
        offline: false,
        room: "lobby".into(),
        max_bytes: Limits::V1.max_text_bytes,
        label: None,
        ontyping: Callback::noop(),
        onfiles: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn typing_a_message_is_reported_but_typing_a_command_is_not() {
    let (ontyping, typed) = unit_recorder();
    let (root, _app) = mount::<Composer>(ComposerProps {
        ontyping,
        label: Some("bob".into()),
        ..composer(Callback::noop())
    })
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
    let (onsend, sent) = recorder();
    let (root, _app) = mount::<Composer>(composer(onsend)).await;
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
    let (onsend, sent) = recorder();
    let (root, _app) = mount::<Composer>(composer(onsend)).await;
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

fn history(seqs: impl IntoIterator<Item = u64>, has_older: bool) -> Action {
    Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: seqs
            .into_iter()
            .map(|seq| {
                chat(
                    seq,
                    "bob",
                    &format!("history line {seq}"),
                    NOON + seq as i64,
                )
            })
            .collect(),
        has_older,
    })
}

fn seq_recorder() -> (Callback<u64>, Rc<RefCell<Vec<u64>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    (Callback::from(move |s| sink.borrow_mut().push(s)), seen)
}

#[wasm_bindgen_test]
async fn rooms_and_conversations_show_unread_badges_and_switch() {
    let (onselect, selected) = recorder();
    let props = |active: &str, rust_unread: u32| RoomListProps {
        rooms: vec![
            RoomTab::room("lobby", 0),
            RoomTab::room("rust", rust_unread),
            RoomTab {
                name: "@alice+bob".into(),
                label: "bob".into(),
                direct: true,
                unread: 2,
            },
        ],
        active: active.to_owned().into(),
        onselect: onselect.clone(),
        onjoin: Callback::noop(),
        onbrowse: Callback::noop(),
        directory: None,
    };
    let (root, mut app) = mount::<RoomList>(props("lobby", 3)).await;
    let rooms = all(&root, "[data-testid=room-list] [data-room]");
    let names: Vec<String> = rooms
        .iter()
        .filter_map(|b| b.get_attribute("data-room"))
        .collect();
    assert_eq!(names, ["lobby", "rust"]);
    let rust = one(&root, "[data-room=rust]");
    assert_eq!(text(&one(&rust, "[data-testid=unread]")), "3");
    assert_eq!(rust.get_attribute("data-unread").as_deref(), Some("3"));
    assert!(all(&one(&root, "[data-room=lobby]"), "[data-testid=unread]").is_empty());
    // Conversations have their own list, named by the other person.
    let dm = one(&root, "[data-testid=dm-list] [data-room='@alice+bob']");
    assert!(text(&dm).contains("bob"));
    assert_eq!(
        dm.get_attribute("aria-label").as_deref(),
        Some("bob, 2 unread")
    );
    assert!(text(&root).contains("Direct messages"));

    rust.unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    assert_eq!(*selected.borrow(), ["rust"]);
    // On screen and read: no badge.
    app.update(props("rust", 0));
    settle().await;
    let rust = one(&root, "[data-room=rust]");
    assert_eq!(rust.get_attribute("aria-current").as_deref(), Some("true"));
    assert!(all(&rust, "[data-testid=unread]").is_empty());
}

#[wasm_bindgen_test]
async fn the_plus_joins_a_room_by_name_or_from_the_list() {
    let (onjoin, joined) = recorder();
    let (onbrowse, browsed) = unit_recorder();
    let props = |directory: Option<Vec<RoomInfo>>| RoomListProps {
        rooms: vec![RoomTab::room("lobby", 0)],
        active: "lobby".into(),
        onselect: Callback::noop(),
        onjoin: onjoin.clone(),
        onbrowse: onbrowse.clone(),
        directory,
    };
    let (root, mut app) = mount::<RoomList>(props(None)).await;
    assert!(all(&root, "[data-testid=room-add-input]").is_empty());
    let add = one(&root, "[data-testid=room-add]");
    add.clone().unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    assert_eq!(*browsed.borrow(), 1, "opening asks for the rooms");
    let input: HtmlInputElement = one(&root, "[data-testid=room-add-input]").unchecked_into();

    // A bad name is explained and nothing is joined.
    input.set_value("no spaces");
    let form: HtmlFormElement = one(&root, ".rooms__form").unchecked_into();
    form.request_submit().unwrap();
    settle().await;
    assert!(joined.borrow().is_empty());
    one(&root, ".rooms__error");

    input.set_value("#Go");
    form.request_submit().unwrap();
    settle().await;
    assert_eq!(*joined.borrow(), ["go"]);
    assert!(
        all(&root, "[data-testid=room-add-input]").is_empty(),
        "closed"
    );

    // The rooms that exist, except those already joined, one click away.
    app.update(props(Some(vec![
        RoomInfo {
            room: "lobby".into(),
            members: 5,
        },
        RoomInfo {
            room: "rust".into(),
            members: 2,
        },
    ])));
    add.unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    let listed = all(&root, "[data-testid=room-directory] button");
    assert_eq!(listed.len(), 1);
    assert!(text(&listed[0]).contains("#rust"));
    listed[0]
        .clone()
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*joined.borrow(), ["go", "rust"]);
}

#[wasm_bindgen_test]
async fn the_typing_line_names_who_is_typing_and_keeps_its_height() {
    let (root, mut app) = mount::<TypingLine>(TypingLineProps { names: vec![] }).await;
    let line = one(&root, "[data-testid=typing]");
    assert_eq!(text(&line), "");
    let empty_height = line.get_bounding_client_rect().height();
    assert!(empty_height > 0.0, "the line keeps its place when empty");
    app.update(TypingLineProps {
        names: vec!["alice".into()],
    });
    settle().await;
    assert_eq!(text(&line), "alice is typing…");
    app.update(TypingLineProps {
        names: vec!["alice".into(), "bob".into()],
    });
    settle().await;
    assert_eq!(text(&line), "alice and bob are typing…");
    assert_eq!(line.get_bounding_client_rect().height(), empty_height);
}

/// At the top of what the page holds, the list asks the server for older
/// messages; when they arrive above, what the reader was looking at stays
/// where it was.
#[wasm_bindgen_test]
async fn older_history_loads_at_the_top_and_the_view_does_not_jump() {
    let mut state = in_lobby();
    state.apply(history(151..=200, true));
    let (onload, asked) = seq_recorder();
    let props = |state: &ChatState| MessageListProps {
        onloadolder: onload.clone(),
        ..list_props(state)
    };
    let (root, mut app) = mount_sized::<MessageList>(props(&state), 400).await;
    let list = one(&root, "[data-testid=message-list]");
    let messages = || all(&root, "[data-testid=message]");
    assert_eq!(messages().len(), 50);
    one(&root, "[data-testid=load-older]");

    list.set_scroll_top(0);
    eventually(
        "a request for older messages",
        Duration::from_secs(5),
        || !asked.borrow().is_empty(),
    )
    .await;
    assert_eq!(asked.borrow()[0], 151);
    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    app.update(props(&state));
    settle().await;
    one(&root, "[data-testid=loading-older]");

    // The reader looks at the oldest line; the page arrives above it.
    let anchor = messages().remove(0);
    assert!(text(&anchor).contains("history line 151"));
    list.set_scroll_top(10);
    settle().await;
    // Its bottom edge: the line itself may lose its author heading once the
    // same author's older messages are above it.
    let before = anchor.get_bounding_client_rect().bottom();
    state.apply(history(51..=150, true));
    app.update(props(&state));
    settle().await;
    assert_eq!(messages().len(), 150);
    assert!(text(&messages().remove(0)).contains("history line 51"));
    let after = anchor.get_bounding_client_rect().bottom();
    assert!(
        (after - before).abs() <= 2.0,
        "the line read before moved from {before} to {after}"
    );
    assert!(list.scroll_top() > 1000, "the new lines are above the view");

    // The last page: the list says where the conversation starts.
    state.apply(history(1..=50, false));
    app.update(props(&state));
    settle().await;
    list.set_scroll_top(0);
    settle().await;
    one(&root, ".messages__start");
    assert_eq!(asked.borrow().len(), 1, "nothing more to ask for");
}

#[wasm_bindgen_test]
async fn a_gap_after_a_long_absence_is_a_marker_that_loads_the_missing() {
    let mut state = in_lobby();
    state.apply(history(1..=5, false));
    state.apply(Action::Server(ServerMsg::Gap {
        room: DEFAULT_ROOM.into(),
        from: 6,
        to: 2005,
    }));
    state.apply(history(2006..=2010, true));
    let (onload, asked) = seq_recorder();
    let (root, _app) = mount::<MessageList>(MessageListProps {
        onloadolder: onload,
        ..list_props(&state)
    })
    .await;
    let gap = one(&root, "[data-testid=gap]");
    assert!(
        text(&gap).contains("2000 messages not shown"),
        "{}",
        text(&gap)
    );
    // Between the last message seen and the latest ones.
    let items: Vec<String> = all(&root, "[data-testid=message], [data-testid=gap]")
        .iter()
        .map(text)
        .collect();
    let at = items.iter().position(|t| t.contains("not shown")).unwrap();
    assert!(items[at - 1].contains("history line 5"));
    assert!(items[at + 1].contains("history line 2006"));
    one(&gap, "button")
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*asked.borrow(), [2006]);
}

#[wasm_bindgen_test]
async fn a_conversation_renders_in_the_sidebar_from_state() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Joined {
        room: "@alice+bob".into(),
        members: vec!["alice".into(), "Bob".into()],
        head: 0,
    }));
    let rooms: Vec<RoomTab> = state
        .rooms
        .values()
        .map(|r| RoomTab {
            name: r.name.clone(),
            label: r.label(state.me.as_deref()),
            direct: r.is_direct(),
            unread: r.unread,
        })
        .collect();
    let (root, _app) = mount::<RoomList>(RoomListProps {
        rooms,
        active: DEFAULT_ROOM.into(),
        onselect: Callback::noop(),
        onjoin: Callback::noop(),
        onbrowse: Callback::noop(),
        directory: None,
    })
    .await;
    let dm = one(&root, "[data-testid=dm-list] [data-room='@alice+bob']");
    assert_eq!(text(&one(&dm, ".room__name")), "Bob");
    assert!(all(&root, "[data-testid=room-list] [data-room='@alice+bob']").is_empty());
}

// Files ----------------------------------------------------------------------

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

fn attr(el: &Element, name: &str) -> Option<String> {
    el.get_attribute(name)
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

fn uploads_of(state: &ChatState) -> Vec<frontend::state::Upload> {
    state.uploads_in(DEFAULT_ROOM).cloned().collect()
}

fn id_recorder() -> (Callback<u64>, Rc<RefCell<Vec<u64>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&seen);
    (Callback::from(move |id| record.borrow_mut().push(id)), seen)
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
    let (oncancel, cancelled) = id_recorder();
    let props = |state: &ChatState, oncancel: &Callback<u64>| UploadListProps {
        uploads: uploads_of(state),
        oncancel: oncancel.clone(),
        ondismiss: Callback::noop(),
    };
    let (root, mut app) = mount::<UploadList>(props(&state, &oncancel)).await;
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
    app.update(props(&state, &oncancel));
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
    app.update(props(&state, &oncancel));
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
    app.update(props(&state, &oncancel));
    settle().await;
    let rows = all(&root, "[data-testid=upload]");
    assert_eq!(rows.len(), 2);
    assert_eq!(attr(&rows[1], "data-status").as_deref(), Some("cancelled"));
    assert!(text(&rows[1]).contains("cancelled"));
    assert!(all(&root, "[data-testid=upload-cancel]").is_empty());

    // Rows that ended go; nothing is left behind.
    state.apply(Action::ExpireUploads(NOON + 60_000));
    app.update(props(&state, &oncancel));
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
    let (ondismiss, dismissed) = id_recorder();
    let (root, _app) = mount::<UploadList>(UploadListProps {
        uploads: uploads_of(&state),
        oncancel: Callback::noop(),
        ondismiss,
    })
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

fn chosen_recorder() -> (Callback<Vec<Chosen>>, Rc<RefCell<Vec<String>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&seen);
    let callback = Callback::from(move |files: Vec<Chosen>| {
        record.borrow_mut().extend(
            files
                .into_iter()
                .map(|c| format!("{} ({})", c.name, c.file.size())),
        );
    });
    (callback, seen)
}

#[wasm_bindgen_test]
async fn dragging_files_over_the_conversation_highlights_it_and_dropping_shares_them() {
    let (onfiles, dropped) = chosen_recorder();
    let (root, _app) = mount::<DropZone>(DropZoneProps {
        onfiles,
        target: "#lobby".into(),
        enabled: true,
        children: yew::html! { <p class="inside">{ "messages" }</p> },
    })
    .await;
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
    let (onfiles, dropped) = chosen_recorder();
    let (root, _app) = mount::<DropZone>(DropZoneProps {
        onfiles,
        target: "#lobby".into(),
        enabled: false,
        children: yew::html! {},
    })
    .await;
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
    let (onfiles, pasted) = chosen_recorder();
    let (root, _app) = mount::<Composer>(ComposerProps {
        onfiles,
        ..composer(Callback::noop())
    })
    .await;
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
    let (onfiles, chosen) = chosen_recorder();
    let (root, _app) = mount::<AttachButton>(AttachButtonProps {
        onfiles,
        disabled: false,
    })
    .await;
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
