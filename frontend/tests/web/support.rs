//! What the browser tests share: mounting a view in a fresh root with the
//! app's stylesheet, letting Yew render, finding elements, and building
//! states, messages and props the way the app does.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frontend::actions::ChatActions;
use frontend::components::{ComposerProps, MessageListProps, MessageViewProps};
use frontend::state::{Action, ChatState};
use shared::{ChatMessage, DEFAULT_ROOM, Limits, MessageKind, ServerMsg};
use wasm_bindgen::JsCast;
use web_sys::Element;
use yew::context::ContextProviderProps;
use yew::{AppHandle, BaseComponent, Callback, ContextProvider, Renderer, html};

pub const HOSTILE: &str = "<b>bold</b><script>x</script><img src=x onerror=alert(1)>";

/// 2025-11-25 12:00 UTC.
pub const NOON: i64 = 1_764_072_000_000;

pub const DAY_MS: i64 = 86_400_000;

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// The app's real stylesheet, once per page, so layout (scrolling, the
/// phone width) is what people get.
pub fn styles() {
    let document = document();
    if document.get_element_by_id("hubbub-styles").is_some() {
        return;
    }
    let style = document.create_element("style").unwrap();
    style.set_id("hubbub-styles");
    style.set_text_content(Some(include_str!("../../styles.css")));
    document.head().unwrap().append_child(&style).unwrap();
}

/// Mounts a component in a fresh element `height` px tall and lets Yew's
/// scheduler render it.
pub async fn mount_sized<C: BaseComponent>(
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

pub async fn mount<C: BaseComponent>(props: C::Properties) -> (Element, AppHandle<C>) {
    mount_sized::<C>(props, 600).await
}

/// Lets Yew finish rendering, effects included (its scheduler may yield to
/// the browser halfway through a long render), then lets the browser
/// deliver the events that follow (scroll).
pub async fn settle() {
    yew::scheduler::flush().await;
    yew::platform::time::sleep(Duration::ZERO).await;
}

/// Polls `check` every 20 ms until it holds, for at most `limit`.
pub async fn eventually(what: &str, limit: Duration, check: impl Fn() -> bool) {
    let start = now();
    while !check() {
        assert!(
            now() - start < limit.as_millis() as f64,
            "timed out waiting for {what}"
        );
        yew::platform::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

pub fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|node| node.unchecked_into::<Element>())
        .collect()
}

pub fn one(root: &Element, selector: &str) -> Element {
    let found = all(root, selector);
    assert_eq!(found.len(), 1, "{selector} in {:?}", root.text_content());
    found.into_iter().next().unwrap()
}

pub fn text(el: &Element) -> String {
    el.text_content().unwrap_or_default()
}

pub fn chat(seq: u64, nick: &str, text: &str, ts: i64) -> ChatMessage {
    ChatMessage {
        room: DEFAULT_ROOM.into(),
        seq,
        ts,
        nick: nick.into(),
        text: text.into(),
        kind: MessageKind::Text,
        attachment: None,
        target: None,
        deleted: false,
        quote: None,
        edited: None,
        reactions: Vec::new(),
        rev: 0,
    }
}

pub fn message(seq: u64, nick: &str, text: &str, kind: MessageKind) -> Rc<ChatMessage> {
    Rc::new(ChatMessage {
        kind,
        ..chat(seq, nick, text, NOON)
    })
}

pub fn view(message: Rc<ChatMessage>) -> MessageViewProps {
    MessageViewProps {
        message,
        mine: false,
        continued: false,
        delivery: None,
        onretry: Callback::noop(),
        ondismiss: Callback::noop(),
        me: None,
        deletable: false,
        editable: false,
        open: 0,
    }
}

/// A state as after joining the lobby as alice, with bob there.
pub fn in_lobby() -> ChatState {
    let mut state = ChatState::default();
    state.apply(Action::Server(ServerMsg::Welcome {
        nick: "alice".into(),
        server: "test".into(),
        limits: Limits::V1,
        account: false,
        token: None,
        expires: None,
    }));
    state.apply(Action::Server(ServerMsg::Joined {
        room: DEFAULT_ROOM.into(),
        members: vec!["alice".into(), "bob".into()],
        head: 0,
    }));
    state
}

pub fn list_props(state: &ChatState) -> MessageListProps {
    MessageListProps {
        lines: state.active().unwrap().lines.clone(),
        pending: state.pending.clone(),
        me: state.me.clone().map(Into::into),
        has_older: state.active().unwrap().has_older,
        loading: state.active().unwrap().loading_older,
        account: state.account,
        role: state.my_role(&state.active_room),
        found: state.found,
    }
}

/// Collects what a callback is given.
pub fn recorder<T: 'static>() -> (Callback<T>, Rc<RefCell<Vec<T>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    (Callback::from(move |s| sink.borrow_mut().push(s)), seen)
}

/// The chat's callbacks, doing nothing but the one `pick` chooses, which
/// records what it is given.
pub fn recording<T: 'static>(
    pick: impl FnOnce(&mut ChatActions) -> &mut Callback<T>,
) -> (ChatActions, Rc<RefCell<Vec<T>>>) {
    let mut actions = ChatActions::default();
    let (callback, seen) = recorder();
    *pick(&mut actions) = callback;
    (actions, seen)
}

pub fn unit_recorder() -> (Callback<()>, Rc<RefCell<u32>>) {
    let seen = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&seen);
    (Callback::from(move |()| *sink.borrow_mut() += 1), seen)
}

pub fn composer() -> ComposerProps {
    ComposerProps {
        enabled: true,
        offline: false,
        room: "lobby".into(),
        max_bytes: Limits::V1.max_text_bytes,
        label: None,
        slow: 0,
        unslowed: false,
        posted_at: None,
        muted_until: None,
        closed: false,
        replying: None,
    }
}

/// A view below the chat's callbacks, as the app mounts it.
pub type Provided = ContextProvider<ChatActions>;

/// The props that mount the view `C` below `actions`: what the view asks of
/// the chat reaches the test's recorders.
pub fn provided<C: BaseComponent>(
    actions: &ChatActions,
    props: C::Properties,
) -> ContextProviderProps<ChatActions> {
    ContextProviderProps {
        context: actions.clone(),
        children: html! { <C ..props /> },
    }
}

/// [`mount`]s the view `C` below `actions`.
pub async fn mount_with<C: BaseComponent>(
    actions: &ChatActions,
    props: C::Properties,
) -> (Element, AppHandle<Provided>) {
    mount::<Provided>(provided::<C>(actions, props)).await
}

pub fn attr(el: &Element, name: &str) -> Option<String> {
    el.get_attribute(name)
}
