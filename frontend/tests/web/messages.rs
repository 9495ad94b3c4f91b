//! Messages as people see them: text that stays text, links, grouping by
//! author and day, pending and failed messages, what screen readers hear,
//! and the typing line.

use std::rc::Rc;

use frontend::components::{MessageList, MessageView, TypingLine, TypingLineProps};
use frontend::state::{Action, Delivery, Pending};
use shared::{MessageKind, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;
use yew::Reducible;

use crate::support::{
    DAY_MS, HOSTILE, NOON, all, chat, in_lobby, list_props, message, mount, mount_with, one,
    recorder, recording, settle, text, view,
};

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
    let (mut actions, retried) = recording(|a| &mut a.retry);
    let (dismiss, dismissed) = recorder();
    actions.dismiss = dismiss;
    let (root, _app) = mount_with::<MessageList>(&actions, list_props(&state)).await;
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
